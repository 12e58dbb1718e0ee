# check-layers.cmake: fails when a source file includes a header from a
# layer above its own (docs/architecture.md, "Layers"): every library
# exports the whole source root, so only this check keeps the edges.
#
#   cmake -DROOT=<source root> -P check-layers.cmake
#
# server/<layer>/ may include "server/<lower>/..." for the layers listed
# below; plugins/ and include/imgate/ may include no "server/" or "tools/"
# header at all (plugins build against the SDK alone).

cmake_minimum_required(VERSION 3.18)

if(NOT ROOT)
	message(FATAL_ERROR "usage: cmake -DROOT=<source root> -P check-layers.cmake")
endif()

set(ALLOWED_metrics  metrics)
set(ALLOWED_protocol protocol)
set(ALLOWED_net      metrics net)
set(ALLOWED_store    metrics store)
set(ALLOWED_plugin   metrics plugin)
set(ALLOWED_session  metrics protocol net store plugin session)
set(ALLOWED_cluster  metrics protocol net store plugin session cluster)
set(ALLOWED_admin    metrics protocol net store plugin session cluster admin)
set(ALLOWED_app      metrics protocol net store plugin session cluster admin app)

set(violations 0)
set(checked 0)

function(check_file path allowed what)
	file(STRINGS "${path}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"(server|tools)/")
	file(RELATIVE_PATH rel "${ROOT}" "${path}")
	foreach(line IN LISTS lines)
		string(REGEX MATCH "\"(server|tools)/([^/\"]+)[^\"]*\"" inc "${line}")
		set(top "${CMAKE_MATCH_1}")
		set(layer "${CMAKE_MATCH_2}")
		if(top STREQUAL "server" AND layer IN_LIST allowed)
			continue()
		endif()
		message("${rel}: includes ${inc}: ${what}")
		math(EXPR n "${violations} + 1")
		set(violations ${n} PARENT_SCOPE)
	endforeach()
endfunction()

foreach(layer metrics protocol net store plugin session cluster admin app)
	file(GLOB_RECURSE files "${ROOT}/server/${layer}/*.h" "${ROOT}/server/${layer}/*.cpp")
	string(REPLACE ";" ", " list "${ALLOWED_${layer}}")
	foreach(f IN LISTS files)
		check_file("${f}" "${ALLOWED_${layer}}" "the ${layer} layer may include only ${list}")
		math(EXPR checked "${checked} + 1")
	endforeach()
endforeach()

file(GLOB_RECURSE files "${ROOT}/plugins/*.h" "${ROOT}/plugins/*.cpp" "${ROOT}/include/imgate/*.h")
foreach(f IN LISTS files)
	check_file("${f}" "" "plugins and the SDK include only include/imgate/ and POCO")
	math(EXPR checked "${checked} + 1")
endforeach()

if(checked EQUAL 0)
	message(FATAL_ERROR "no source files under ${ROOT}/server or ${ROOT}/plugins: wrong ROOT?")
endif()
if(violations GREATER 0)
	message(FATAL_ERROR "${violations} include(s) against the layer order (docs/architecture.md)")
endif()
message("layers: ${checked} files, every include goes down the layer order")
