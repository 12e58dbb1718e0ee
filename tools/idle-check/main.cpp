//
// main.cpp
//
// imgate-idlecheck: opens N sessions to a running imgated (anonymous login),
// keeps them idle, and reports how many logged in and the server's RSS
// growth per session (from /proc/PID/status).
//
//   imgate-idlecheck --port P --sessions N --server-pid PID [--host 127.0.0.1]
//                    [--sources 127.0.0.1,127.0.0.2] [--hold SECONDS]
//
// Every loop is bounded in count and time; it stops by itself.
//

#include "server/protocol/FrameDecoder.h"
#include "server/protocol/FrameEncoder.h"
#include "imgate/v1/imgate.pb.h"
#include "Poco/StringTokenizer.h"
#include "Poco/Timestamp.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace imgate::protocol;

namespace {

long rssKiB(int pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/status");
	std::string line;
	while (std::getline(in, line))
	{
		if (line.compare(0, 6, "VmRSS:") == 0) return std::stol(line.substr(6));
	}
	return -1;
}

bool readFrame(int fd, FrameDecoder& decoder, Frame& out, int timeoutMs)
{
	timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
	::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buffer[4096];
	while (true)
	{
		ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
		if (n <= 0) return false;
		if (decoder.feed(buffer, static_cast<std::size_t>(n)) == FrameDecoder::FRAME)
		{
			out = decoder.frame();
			return true;
		}
	}
}

} // namespace


int main(int argc, char** argv)
{
	std::string host = "127.0.0.1";
	int port = 7700, sessions = 1000, pid = 0, hold = 0;
	std::vector<std::string> sources{"127.0.0.1"};
	for (int i = 1; i + 1 < argc; i += 2)
	{
		std::string a = argv[i], v = argv[i + 1];
		if (a == "--host") host = v;
		else if (a == "--port") port = std::stoi(v);
		else if (a == "--sessions") sessions = std::stoi(v);
		else if (a == "--server-pid") pid = std::stoi(v);
		else if (a == "--hold") hold = std::stoi(v);
		else if (a == "--sources")
		{
			sources.clear();
			for (const auto& s: Poco::StringTokenizer(v, ",", Poco::StringTokenizer::TOK_TRIM)) sources.push_back(s);
		}
		else { std::cerr << "unknown option " << a << std::endl; return 2; }
	}
	if (pid <= 0) { std::cerr << "usage: imgate-idlecheck --port P --sessions N --server-pid PID [--hold S] [--sources A,B]" << std::endl; return 2; }

	rlimit rl{};
	::getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	::setrlimit(RLIMIT_NOFILE, &rl);

	long before = rssKiB(pid);
	std::vector<int> fds;
	fds.reserve(static_cast<std::size_t>(sessions));
	int ok = 0, failed = 0;
	const int batch = 256;
	Poco::Timestamp start;
	sockaddr_in server{};
	server.sin_family = AF_INET;
	server.sin_port = htons(static_cast<uint16_t>(port));
	::inet_pton(AF_INET, host.c_str(), &server.sin_addr);
	for (int base = 0; base < sessions && !start.isElapsed(120 * 1000000LL); base += batch)
	{
		std::vector<int> pending;
		for (int i = base; i < std::min(sessions, base + batch); ++i)
		{
			int fd = ::socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0) { ++failed; continue; }
			sockaddr_in local{};
			local.sin_family = AF_INET;
			::inet_pton(AF_INET, sources[static_cast<std::size_t>(i) % sources.size()].c_str(), &local.sin_addr);
			// Pick the source address only; the port is chosen at connect()
			// (a plain bind() searches for a port unique to the address alone,
			// which gets slow with thousands of sockets).
			int one = 1;
			::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
			::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local));
			if (::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof(server)) != 0) { ::close(fd); ++failed; continue; }
			imgate::v1::LoginRequest login;
			login.set_uid("idle-" + std::to_string(i));
			login.set_device("idlecheck");
			std::string wire = FrameEncoder::encode(Command::LOGIN, Status::OK, 1, login);
			if (::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(wire.size())) { ::close(fd); ++failed; continue; }
			pending.push_back(fd);
		}
		for (int fd: pending)
		{
			FrameDecoder decoder(65536);
			Frame f;
			if (readFrame(fd, decoder, f, 10000) && f.cmd == static_cast<Poco::UInt16>(Command::LOGIN_RESP) && f.status == 0)
			{
				++ok;
				fds.push_back(fd);
			}
			else
			{
				++failed;
				::close(fd);
			}
		}
	}
	double seconds = static_cast<double>(start.elapsed()) / 1e6;
	std::this_thread::sleep_for(std::chrono::seconds(2)); // let the server settle
	long after = rssKiB(pid);
	std::cout << "sessions logged in: " << ok << ", failed: " << failed << ", in " << seconds << " s ("
		<< static_cast<long>(ok / (seconds > 0 ? seconds : 1)) << "/s, sequential batches of " << batch << ")" << std::endl;
	std::cout << "server RSS: " << before << " KiB before, " << after << " KiB after" << std::endl;
	if (ok > 0) std::cout << "RSS per idle session: " << (after - before) * 1024.0 / ok << " bytes" << std::endl;

	// Hold with heartbeats, then check every session is still open.
	std::string heartbeat;
	FrameEncoder::append(heartbeat, Command::HEARTBEAT, Status::OK, 2);
	for (int s = 0; s < hold; s += 5)
	{
		for (int fd: fds) ::send(fd, heartbeat.data(), heartbeat.size(), MSG_NOSIGNAL);
		std::this_thread::sleep_for(std::chrono::seconds(std::min(5, hold - s)));
	}
	int alive = 0;
	for (int fd: fds)
	{
		FrameDecoder decoder(65536);
		Frame f;
		if (hold == 0 || (readFrame(fd, decoder, f, 5000) && f.cmd == static_cast<Poco::UInt16>(Command::HEARTBEAT_RESP))) ++alive;
		::close(fd);
	}
	if (hold > 0) std::cout << "alive after " << hold << " s with heartbeats: " << alive << " of " << ok << std::endl;
	std::cout << "{\"sessions\":" << ok << ",\"failed\":" << failed << ",\"rss_before_kib\":" << before
		<< ",\"rss_after_kib\":" << after << ",\"bytes_per_session\":" << (ok ? (after - before) * 1024.0 / ok : 0) << "}" << std::endl;
	return failed == 0 ? 0 : 1;
}
