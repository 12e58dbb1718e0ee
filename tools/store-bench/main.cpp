//
// main.cpp
//
// imgate-store-bench: N concurrent senders, each with one message in flight
// (the next is submitted when the previous one's append completes, as a
// client that waits for MSG_SEND_ACK does), against a real store. Reports
// messages/s, commits/s, messages per commit and append latency.
//
//   imgate-store-bench [--type sqlite|memory] [--sync full|normal]
//                      [--senders N] [--seconds D] [--warmup W]
//                      [--payload BYTES] [--path FILE] [--json]
//
// The database file (default /tmp/imgate-store-bench/bench.db) is deleted
// before and after the run. It stops by itself after W + D seconds.
//

#include "server/store/MemoryMessageStore.h"
#include "server/store/SqliteMessageStore.h"
#include "Poco/File.h"
#include "Poco/Thread.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace imgate::store;

namespace {

struct Options
{
	std::string type = "sqlite";
	bool fullSync = true;
	int senders = 100;
	int seconds = 5;
	int warmup = 1;
	std::size_t payload = 64;
	std::string path = "/tmp/imgate-store-bench/bench.db";
	bool json = false;
};


int usage(const std::string& problem)
{
	std::cerr << "imgate-store-bench: " << problem << "\n"
		"usage: imgate-store-bench [--type sqlite|memory] [--sync full|normal] [--senders N]\n"
		"                          [--seconds D] [--warmup W] [--payload BYTES] [--path FILE] [--json]\n";
	return 2;
}


void removeDatabase(const std::string& path)
{
	for (const char* suffix: {"", "-wal", "-shm", ".lock"})
	{
		Poco::File f(path + suffix);
		if (f.exists()) f.remove();
	}
}


class Bench
	/// Completion callbacks run on the store's writer thread (inline for
	/// the memory store); the counters and the latency sample are touched
	/// under one mutex, which the writer alone contends for.
{
public:
	Bench(MessageStore& store, const Options& options):
		_store(store),
		_options(options),
		_payload(options.payload, 'p'),
		_clientIds(static_cast<std::size_t>(options.senders), 0)
	{
	}

	void start()
	{
		for (int i = 0; i < _options.senders; ++i) submit(i);
	}

	void beginMeasuring()
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_measuring = true;
		_latenciesUs.clear();
		_measured = 0;
		_refused = 0;
	}

	void stop()
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_measuring = false;
		_running = false;
	}

	std::size_t measured() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _measured;
	}

	std::size_t refused() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _refused;
	}

	std::vector<double> latenciesUs() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _latenciesUs;
	}

	bool idle() const
	{
		return _inFlight.load() == 0;
	}

private:
	void submit(int sender)
	{
		// The memory store completes inline: resubmitting from inside the
		// callback would recurse without bound, so a callback that runs
		// inside submit() only notes the sender, and this loop sends again.
		static thread_local int depth = 0;
		static thread_local std::vector<int> deferred;
		if (depth > 0)
		{
			deferred.push_back(sender);
			return;
		}
		++depth;
		appendOne(sender);
		while (!deferred.empty())
		{
			int next = deferred.back();
			deferred.pop_back();
			appendOne(next);
		}
		--depth;
	}

	void appendOne(int sender)
	{
		NewMessage m;
		m.fromUid = "sender" + std::to_string(sender);
		m.toUid = "recipient" + std::to_string(sender);
		m.clientMsgId = ++_clientIds[static_cast<std::size_t>(sender)];
		m.payload = _payload;
		const Poco::Timestamp sent;
		m.timestampMs = sent.epochMicroseconds() / 1000;
		++_inFlight;
		_store.append(std::move(m), [this, sender, sent](const AppendResult& result)
		{
			bool again = false;
			{
				std::lock_guard<std::mutex> lock(_mutex);
				if (_measuring)
				{
					if (result.outcome == AppendResult::STORED)
					{
						++_measured;
						_latenciesUs.push_back(static_cast<double>(sent.elapsed()));
					}
					else
					{
						++_refused;
					}
				}
				again = _running;
			}
			--_inFlight;
			if (again) submit(sender);
		});
	}

	MessageStore& _store;
	const Options& _options;
	const std::string _payload;
	std::vector<Poco::UInt64> _clientIds; /// Per sender; touched only by that sender's chain.
	mutable std::mutex _mutex;
	bool _measuring = false;
	bool _running = true;
	std::size_t _measured = 0;
	std::size_t _refused = 0;
	std::vector<double> _latenciesUs;
	std::atomic<int> _inFlight{0};
};


double percentile(std::vector<double>& v, double p)
{
	if (v.empty()) return 0;
	std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
	std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
	return v[i];
}

} // namespace


int main(int argc, char** argv)
{
	Options o;
	for (int i = 1; i < argc; ++i)
	{
		std::string a = argv[i];
		auto value = [&]() -> std::string
		{
			if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
			return argv[++i];
		};
		try
		{
			if (a == "--type") o.type = value();
			else if (a == "--sync") o.fullSync = value() == "full";
			else if (a == "--senders") o.senders = std::stoi(value());
			else if (a == "--seconds") o.seconds = std::stoi(value());
			else if (a == "--warmup") o.warmup = std::stoi(value());
			else if (a == "--payload") o.payload = static_cast<std::size_t>(std::stoul(value()));
			else if (a == "--path") o.path = value();
			else if (a == "--json") o.json = true;
			else return usage("unknown option " + a);
		}
		catch (std::exception& exc)
		{
			return usage(exc.what());
		}
	}
	if (o.type != "sqlite" && o.type != "memory") return usage("--type is sqlite or memory");
	if (o.senders < 1 || o.senders > 100000 || o.seconds < 1 || o.seconds > 3600 || o.warmup < 0 || o.warmup > 60)
		return usage("out of range: 1 <= senders <= 100000, 1 <= seconds <= 3600, 0 <= warmup <= 60");

	std::unique_ptr<MessageStore> pStore;
	SqliteMessageStore* pSqlite = nullptr;
	try
	{
		if (o.type == "memory")
		{
			MemoryMessageStore::Limits limits;
			limits.maxPendingPerRecipient = 100000000;
			limits.maxBytes = std::size_t(8) << 30;
			pStore.reset(new MemoryMessageStore(limits));
		}
		else
		{
			removeDatabase(o.path); // the store creates the folder
			SqliteMessageStore::Options so;
			so.path = o.path;
			so.fullSync = o.fullSync;
			so.maxPendingPerRecipient = 100000000;
			pSqlite = new SqliteMessageStore(so);
			pStore.reset(pSqlite);
		}
		pStore->start();
	}
	catch (Poco::Exception& exc)
	{
		std::cerr << "imgate-store-bench: " << exc.displayText() << std::endl;
		return 1;
	}

	Bench bench(*pStore, o);
	// With the memory store the senders' chains complete inline and run on
	// this thread until stop(); with sqlite it returns at once.
	std::thread senders([&bench]() { bench.start(); });
	Poco::Thread::sleep(o.warmup * 1000);
	SqliteMessageStore::Statistics before = pSqlite ? pSqlite->statistics() : SqliteMessageStore::Statistics();
	bench.beginMeasuring();
	Poco::Timestamp started;
	Poco::Thread::sleep(o.seconds * 1000);
	bench.stop();
	senders.join();
	const double elapsed = static_cast<double>(started.elapsed()) / 1e6;
	SqliteMessageStore::Statistics after = pSqlite ? pSqlite->statistics() : SqliteMessageStore::Statistics();
	// Let the last appends finish (bounded), then close.
	for (int i = 0; i < 1000 && !bench.idle(); ++i) Poco::Thread::sleep(10);
	pStore->close();
	if (pSqlite) removeDatabase(o.path);

	std::vector<double> lat = bench.latenciesUs();
	const double messages = static_cast<double>(bench.measured());
	const double commits = static_cast<double>(after.commits - before.commits);
	const double msgPerSec = messages / elapsed;
	const double commitsPerSec = commits / elapsed;
	const double perCommit = commits > 0 ? static_cast<double>(after.storedMessages - before.storedMessages) / commits : 0;
	const double p50 = percentile(lat, 0.50) / 1000;
	const double p99 = percentile(lat, 0.99) / 1000;
	const std::string sync = o.type == "memory" ? "-" : (o.fullSync ? "full" : "normal");
	char line[512];
	std::snprintf(line, sizeof(line),
		"store=%s sync=%s senders=%d payload=%zu: %.0f msg/s, %.0f commits/s, %.1f msg/commit, latency p50 %.3f ms p99 %.3f ms, refused %zu",
		o.type.c_str(), sync.c_str(), o.senders, o.payload, msgPerSec, commitsPerSec, perCommit, p50, p99, bench.refused());
	std::cout << line << std::endl;
	if (o.json)
	{
		std::snprintf(line, sizeof(line),
			"{\"store\":\"%s\",\"sync\":\"%s\",\"senders\":%d,\"payload\":%zu,\"seconds\":%.3f,\"messages\":%.0f,"
			"\"msgPerSec\":%.1f,\"commitsPerSec\":%.1f,\"msgPerCommit\":%.2f,\"p50Ms\":%.4f,\"p99Ms\":%.4f,\"refused\":%zu}",
			o.type.c_str(), sync.c_str(), o.senders, o.payload, elapsed, messages, msgPerSec, commitsPerSec, perCommit, p50, p99, bench.refused());
		std::cout << line << std::endl;
	}
	return 0;
}
