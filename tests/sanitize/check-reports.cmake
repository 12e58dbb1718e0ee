# cmake -DDIR=FOLDER -P check-reports.cmake: fails, printing them, if the
# sanitizers wrote any report into FOLDER (the ctest entry SanitizerReports).
file(GLOB reports "${DIR}/*")
list(LENGTH reports count)
if(count EQUAL 0)
	message("no sanitizer report in ${DIR}")
	return()
endif()
foreach(report ${reports})
	file(READ ${report} text)
	message("==== ${report}\n${text}")
endforeach()
message(FATAL_ERROR "${count} sanitizer report(s) in ${DIR}: see above (docs/testing.md)")
