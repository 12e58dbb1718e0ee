//
// HaproxyProcess.cpp
//

#include "tests/support/HaproxyProcess.h"
#include "tests/support/ServerProcess.h"
#include "tests/support/TestCertificates.h"
#include "tests/support/Wait.h"
#include "Poco/Exception.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"
#include <signal.h>
#include <sstream>
#include <vector>

namespace imgate {
namespace test {

namespace {

const long START_TIMEOUT_MS = 10000;
const int START_ATTEMPTS = 5;


std::string replaced(std::string text, const std::string& word, const std::string& by)
{
	for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + by.size()))
		text.replace(at, word.size(), by);
	return text;
}


std::vector<std::string> csvFields(const std::string& line)
	/// haproxy's "show stat" CSV: no quoting, empty fields kept.
{
	std::vector<std::string> fields;
	std::size_t start = 0;
	for (std::size_t comma = line.find(','); ; comma = line.find(',', start))
	{
		fields.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
		if (comma == std::string::npos) break;
		start = comma + 1;
	}
	return fields;
}

} // namespace


HaproxyProcess::HaproxyProcess(const std::string& config):
	_binary(findBinary()),
	_folder("imgate-haproxy"),
	_config(config),
	_configPath(_folder.path() + "haproxy.cfg"),
	_socketPath(_folder.path() + "stats.sock"),
	_logPath(_folder.path() + "haproxy.log")
{
	for (int attempt = 1; !launch(); ++attempt)
	{
		// freePort() only says the port was free a moment ago.
		if (attempt == START_ATTEMPTS) throw Poco::RuntimeException("haproxy found no free port:\n" + log());
	}
}


HaproxyProcess::~HaproxyProcess()
{
	try
	{
		_haproxy.terminate(SIGKILL, 0);
	}
	catch (...)
	{
	}
}


bool HaproxyProcess::launch()
{
	_port = TestCertificates::freePort();
	std::string text = replaced(_config, "${FRONTEND}", "127.0.0.1:" + std::to_string(_port));
	text = replaced(text, "${STATS}", _socketPath);
	ServerProcess::writeFile(_configPath, text);
	std::string output;
	if (ServerProcess::runProgram(_binary, {"-c", "-f", _configPath}, output, START_TIMEOUT_MS) != 0)
		throw Poco::RuntimeException("haproxy refuses the configuration:\n" + output + "\n" + text);
	const std::size_t offset = ChildProcess::readFile(_logPath).size();
	_haproxy.launch(_binary, {"-db", "-f", _configPath}, _logPath, _folder.path());
	// haproxy binds every listener before it serves any: once the stats
	// socket answers, the frontend listens too. (A probe connection to the
	// frontend would reach a backend server as a connection of its own.)
	const bool up = waitUntil([&]()
	{
		return !_haproxy.running() || !stats().empty();
	}, START_TIMEOUT_MS, 20) && _haproxy.running();
	if (up) return true;
	const std::string said = ChildProcess::readFile(_logPath, offset);
	_haproxy.terminate(SIGKILL, 0);
	if (said.find("cannot bind socket") != std::string::npos) return false;
	throw Poco::RuntimeException("haproxy did not start (" + _binary + "):\n" + log());
}


std::string HaproxyProcess::serverStatus(const std::string& backend, const std::string& server) const
{
	return statField(backend, server, "status");
}


std::string HaproxyProcess::checkStatus(const std::string& backend, const std::string& server) const
{
	std::string status = statField(backend, server, "check_status");
	// "* L7STS": the asterisk marks a check still in progress.
	if (status.compare(0, 2, "* ") == 0) status.erase(0, 2);
	return status;
}


std::string HaproxyProcess::statField(const std::string& backend, const std::string& server, const std::string& field) const
{
	std::istringstream lines(stats());
	std::string line;
	if (!std::getline(lines, line) || line.compare(0, 2, "# ") != 0) return "";
	const std::vector<std::string> names = csvFields(line.substr(2));
	std::size_t column = 0;
	while (column < names.size() && names[column] != field) ++column;
	if (column == names.size()) return "";
	while (std::getline(lines, line))
	{
		const std::vector<std::string> fields = csvFields(line);
		if (fields.size() > column && fields[0] == backend && fields[1] == server) return fields[column];
	}
	return "";
}


std::string HaproxyProcess::stats() const
{
	try
	{
		Poco::Net::StreamSocket socket;
		socket.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, _socketPath), Poco::Timespan(1, 0));
		socket.setReceiveTimeout(Poco::Timespan(2, 0));
		const std::string command = "show stat\n";
		socket.sendBytes(command.data(), static_cast<int>(command.size()));
		std::string answer;
		char buffer[4096];
		for (int n = socket.receiveBytes(buffer, sizeof(buffer)); n > 0; n = socket.receiveBytes(buffer, sizeof(buffer)))
			answer.append(buffer, static_cast<std::size_t>(n));
		return answer;
	}
	catch (Poco::Exception&)
	{
		return "";
	}
}


std::string HaproxyProcess::log() const
{
	return ChildProcess::readFile(_logPath);
}


std::string HaproxyProcess::findBinary()
{
	return ChildProcess::findProgram("IMGATE_HAPROXY", "/usr/sbin/haproxy", "haproxy");
}

} } // namespace imgate::test
