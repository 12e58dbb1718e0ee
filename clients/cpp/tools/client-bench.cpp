//
// client-bench.cpp
//
// imgate-client-bench: the C++ client library's own throughput. One
// sending Client (its one thread) sends COUNT messages of SIZE bytes to one
// receiving Client through a running imgated; prints a JSON line with the
// sender's and the receiver's msg/s (sends acknowledged by the server, and
// deliveries handed to the application and acknowledged).
//
//   imgate-client-bench HOST PORT [COUNT] [SIZE] [IN_FLIGHT]
//
// docs/benchmarks.md ("Client libraries") has the figures and the script.
//

#include "imgate/client/Client.h"
#include "Poco/Clock.h"
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>

using imgate::client::Client;
using imgate::client::ClientOptions;
using imgate::client::Message;
using imgate::client::SendResult;
using imgate::client::State;

int main(int argc, char** argv)
{
	if (argc < 3)
	{
		std::cerr << "usage: imgate-client-bench HOST PORT [COUNT] [SIZE] [IN_FLIGHT]\n";
		return 2;
	}
	const std::string host = argv[1];
	const auto port = static_cast<Poco::UInt16>(std::stoul(argv[2]));
	const std::size_t count = argc > 3 ? std::stoul(argv[3]) : 200000;
	const std::size_t size = argc > 4 ? std::stoul(argv[4]) : 64;
	const std::size_t inFlight = argc > 5 ? std::stoul(argv[5]) : 1024;

	ClientOptions o;
	o.host = host;
	o.port = port;
	o.maxInFlight = inFlight;
	const std::string run = std::to_string(Poco::Clock().raw() % 1000000);
	o.uid = "bench-tx-" + run;
	Client sender(o);
	o.uid = "bench-rx-" + run;
	Client receiver(o);

	std::mutex mutex;
	std::condition_variable done;
	std::size_t acked = 0;
	std::size_t refused = 0;
	std::string firstRefusal;
	std::size_t delivered = 0;
	Poco::Clock::ClockDiff sendSeconds = 0;
	Poco::Clock start;
	receiver.onMessage([&](const Message&)
	{
		std::lock_guard<std::mutex> lock(mutex);
		++delivered;
		done.notify_all();
	});
	sender.start();
	receiver.start();
	if (!sender.waitState(State::ONLINE, Poco::Timespan(10, 0)) || !receiver.waitState(State::ONLINE, Poco::Timespan(10, 0)))
	{
		std::cerr << "imgate-client-bench: not online within 10 s at " << host << ":" << port << "\n";
		return 1;
	}
	const std::string payload(size, 'x');
	start.update();
	for (std::size_t i = 0; i < count; ++i)
	{
		Client::Outgoing m;
		m.toUid = "bench-rx-" + run;
		m.payload = payload;
		sender.send(m, [&](const SendResult& r)
		{
			std::lock_guard<std::mutex> lock(mutex);
			if (r.ok()) ++acked;
			else if (++refused == 1) firstRefusal = imgate::client::statusName(r.status);
			if (acked + refused == count) sendSeconds = start.elapsed();
			done.notify_all();
		});
	}
	{
		std::unique_lock<std::mutex> lock(mutex);
		// Refused sends (SERVER_BUSY: the receiver's queue full) are never delivered.
		done.wait_for(lock, std::chrono::seconds(120), [&]() { return acked + refused == count && delivered == acked; });
	}
	const double elapsed = static_cast<double>(start.elapsed()) / 1e6;
	sender.close();
	receiver.close();
	std::lock_guard<std::mutex> lock(mutex);
	std::printf("{\"count\":%zu,\"size\":%zu,\"in_flight\":%zu,\"acked\":%zu,\"refused\":%zu,\"delivered\":%zu,\"first_refusal\":\"%s\","
		"\"send_msg_per_second\":%.0f,\"delivered_msg_per_second\":%.0f}\n",
		count, size, inFlight, acked, refused, delivered, firstRefusal.c_str(),
		sendSeconds > 0 ? static_cast<double>(acked) / (static_cast<double>(sendSeconds) / 1e6) : 0.0,
		static_cast<double>(delivered) / elapsed);
	return delivered == count && refused == 0 ? 0 : 1;
}
