//
// TestMain.cpp
//
// Runs every CppUnit test registered in the executable, or the one named
// on the command line. Exit code 0 only if all passed. A Poco::Exception
// a test lets out is reported with its message, not only its name.
//

#include "Poco/Exception.h"
#include <cppunit/CompilerOutputter.h>
#include <cppunit/Message.h>
#include <cppunit/Protector.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/extensions/TestFactoryRegistry.h>
#include <csignal>
#include <iostream>

namespace {

class PocoExceptionProtector: public CppUnit::Protector
	/// CppUnit's own protector reports a std::exception by what(), which
	/// for a Poco::Exception is only its name ("Runtime exception"): this
	/// one, inside it, reports displayText() (name and message: the
	/// server's log when a ServerProcess did not start, for instance).
{
public:
	bool protect(const CppUnit::Functor& functor, const CppUnit::ProtectorContext& context) override
	{
		try
		{
			return functor();
		}
		catch (Poco::Exception& exc)
		{
			reportError(context, CppUnit::Message("uncaught Poco::Exception", exc.displayText()));
			return false;
		}
	}
};

} // namespace


int main(int argc, char** argv)
{
	std::signal(SIGPIPE, SIG_IGN); // a test's peer may close first
	CppUnit::Test* pSuite = CppUnit::TestFactoryRegistry::getRegistry().makeTest();
	CppUnit::TestResult controller;
	controller.pushProtector(new PocoExceptionProtector); // owned by controller
	CppUnit::TestResultCollector result;
	controller.addListener(&result);
	CppUnit::BriefTestProgressListener progress;
	controller.addListener(&progress);
	CppUnit::TestRunner runner;
	try
	{
		runner.addTest(argc > 1 ? pSuite->findTest(argv[1]) : pSuite);
	}
	catch (std::invalid_argument& exc)
	{
		std::cerr << "no test named " << argv[1] << ": " << exc.what() << std::endl;
		delete pSuite;
		return 2;
	}
	// The runner owns what it was given (a named test stays inside pSuite,
	// which is then left to the process exit).
	runner.run(controller);
	CppUnit::CompilerOutputter(&result, std::cerr).write();
	return result.wasSuccessful() && result.runTests() > 0 ? 0 : 1;
}
