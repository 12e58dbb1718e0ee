//
// console-chat.cpp
//
// imgate-console-chat: a chat in the terminal on the C++ client library,
// the example of docs/clients-cpp.md. Reads lines from standard input:
//
//   @UID text      sends text to UID
//   #GROUP text    sends text to the group GROUP
//
// and prints what arrives ("UID: text", "UID in #GROUP: text"), what each
// send became ("stored as msg_id N" or the refusal), and the connection's
// state on standard error. End of input: waits (at most 10 s) for the
// answers to what was sent, logs out and exits (1 if some never came).
//
//   imgate-console-chat [--host H] [--port P] [--tls] [--ca FILE] [--token T] [--device D] UID
//

#include "imgate/client/Client.h"
#include <iostream>
#include <mutex>
#include <string>

using namespace imgate::client;

namespace {

std::mutex outputMutex;

void say(const std::string& line)
{
	std::lock_guard<std::mutex> lock(outputMutex);
	std::cout << line << std::endl;
}

int usage()
{
	std::cerr << "usage: imgate-console-chat [--host H] [--port P] [--tls] [--ca FILE] [--token T] [--device D] UID\n";
	return 2;
}

} // namespace


int main(int argc, char** argv)
{
	ClientOptions options;
	for (int i = 1; i < argc; ++i)
	{
		const std::string arg = argv[i];
		const bool hasValue = i + 1 < argc;
		if (arg == "--host" && hasValue) options.host = argv[++i];
		else if (arg == "--port" && hasValue) options.port = static_cast<Poco::UInt16>(std::stoul(argv[++i]));
		else if (arg == "--tls") options.tls = true;
		else if (arg == "--ca" && hasValue) options.caFile = argv[++i];
		else if (arg == "--token" && hasValue) options.token = argv[++i];
		else if (arg == "--device" && hasValue) options.device = argv[++i];
		else if (!arg.empty() && arg[0] != '-' && options.uid.empty()) options.uid = arg;
		else return usage();
	}
	if (options.uid.empty()) return usage();

	Client client(options);
	client.onMessage([](const Message& m)
	{
		say(m.fromUid + (m.groupId.empty() ? "" : " in #" + m.groupId) + ": " + m.payload);
	});
	client.onState([](State state, const std::string& why)
	{
		std::lock_guard<std::mutex> lock(outputMutex);
		std::cerr << "[" << stateName(state) << "] " << why << std::endl;
	});
	client.start();

	std::string line;
	while (std::getline(std::cin, line))
	{
		if (line.size() < 2 || (line[0] != '@' && line[0] != '#'))
		{
			say("? write @UID text or #GROUP text");
			continue;
		}
		const std::size_t space = line.find(' ');
		Client::Outgoing message;
		const std::string to = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
		if (line[0] == '@') message.toUid = to;
		else message.toGroup = to;
		message.payload = space == std::string::npos ? "" : line.substr(space + 1);
		client.send(message, [to](const SendResult& r)
		{
			say(r.ok() ? "to " + to + ": stored as msg_id " + std::to_string(r.msgId)
				: "to " + to + ": not sent, " + statusName(r.status) + (r.message.empty() ? "" : " (" + r.message + ")"));
		});
	}
	// What was typed (or piped) before the login still goes out.
	const bool flushed = client.flush(Poco::Timespan(10, 0));
	client.close();
	return flushed ? 0 : 1;
}
