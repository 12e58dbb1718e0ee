//
// EventLoop.h
//
// Layer: net
// One thread's epoll loop: owns its connections, their timers, and a task
// queue that other threads post to (woken through an eventfd).
//

#ifndef imgate_net_EventLoop_INCLUDED
#define imgate_net_EventLoop_INCLUDED

#include "server/metrics/LoopCounters.h"
#include "server/net/Clock.h"
#include "server/net/TimerWheel.h"
#include "Poco/Bugcheck.h"
#include "Poco/Runnable.h"
#include "Poco/Logger.h"
#include "Poco/Mutex.h"
#include <atomic>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace imgate {
namespace net {

class Connection;
class ConnectionLimiter;


class EventLoop: public Poco::Runnable
	/// Runs on one thread (run()). Everything but post(), stop(),
	/// index(), connectionCount(), inLoopThread() and counters() is for
	/// that thread only, and asserts it (poco_assert_dbg: debug and
	/// sanitizer builds). Before run() starts and after it returns, no
	/// thread runs the loop, and whoever holds it may set it up or tear
	/// it down.
	///
	/// Each turn: wait for socket events, tasks or the next 100 ms tick;
	/// handle reads and writes; run posted tasks; fire due timers; write
	/// every connection with pending output; destroy closed connections.
	/// An exception from a connection's handler closes only that connection.
{
public:
	using Task = std::function<void()>;
	static constexpr Poco::UInt32 TICK_MS = 100;
	static constexpr std::size_t READ_BUFFER_SIZE = 64 * 1024;
	static constexpr std::size_t SPARE_OUTPUT_BUFFERS = 64;
		/// Emptied output buffers the loop keeps for the next connection
		/// that has something to send...
	static constexpr std::size_t SPARE_OUTPUT_CAPACITY = 64 * 1024;
		/// ... if they hold at most this many bytes: a connection gets a
		/// buffer that has grown already, not a new one per loop turn.

	explicit EventLoop(std::size_t index, const Clock& clock = Clock::monotonic());
		/// Creates the epoll and eventfd descriptors. Ticks follow clock
		/// (which must outlive the loop; a test passes one it moves itself).
		/// Throws Poco::SystemException.

	~EventLoop();
		/// Destroys the remaining connections (closing them).

	std::size_t index() const;

	void setLimiter(ConnectionLimiter* pLimiter);
		/// Every connection this loop closes releases one unit of pLimiter
		/// (acquired at accept time). Call before run().

	void post(Task task);
		/// Runs task on the loop thread, in posting order. Any thread.
		/// Tasks posted after stop() are discarded when the loop ends.

	void run() override;
		/// The loop; returns after stop().

	bool runTurn(int maxWaitMs);
		/// One turn of the loop on the calling thread, waiting at most
		/// maxWaitMs for events: for tests and fuzz targets that drive a
		/// loop step by step; the caller is the loop thread for the turn.
		/// Never while run() runs. Returns false if
		/// epoll failed (logged).

	void stop();
		/// Makes run() close every connection and return. Any thread.

	void adopt(std::unique_ptr<Connection> pConnection);
		/// Takes ownership and starts reading. Loop thread only.

	Connection* find(Poco::UInt64 id) const;
		/// The open connection with that id, or null.

	template <class F>
	void forEach(F&& f);
		/// Calls f(Connection&) for every open connection.

	TimerWheel& timers();
		/// This loop's timers; advanced once per tick.

	Poco::UInt32 tick() const;
		/// Ticks since the loop started (TICK_MS each of its clock).

	std::size_t connectionCount() const;
		/// Open connections. Any thread.

	bool inLoopThread() const;
		/// True on the thread running run(). Any thread.

	bool inLoopContext() const;
		/// inLoopThread(), or no thread runs the loop (before run() and
		/// after it returned): what the "loop thread only" asserts check.
		/// Any thread.

	metrics::LoopCounters& counters();
		/// This loop's counters: written by the loop and its sessions,
		/// read by any thread (a metrics scrape).

	static Poco::UInt32 ticksFromSeconds(unsigned seconds);

private:
	friend class Connection;
	bool turn(int maxWaitMs);
	void handleEvent(Connection& c, Poco::UInt32 events);
	void readFrom(Connection& c);
	void flush(Connection& c);
	void updateInterest(Connection& c);
	void markDirty(Connection& c);
	std::unique_ptr<std::string> takeOutputBuffer();
		/// A spare output buffer (empty), or a new one.
	void releaseOutput(Connection& c);
		/// Takes c's output buffer away; keeps it as a spare if there is room.
	void keepSpare(std::unique_ptr<std::string> pBuffer);
		/// Keeps an emptied buffer as a spare if there is room (else frees it).
	void closeConnection(Connection& c);
	void runTasks();
	void advanceTimers();
	void flushDirty();
	void reap();
	Poco::UInt64 nextId();

	std::size_t _index;
	int _epollFd;
	int _wakeFd;
	Poco::Logger& _logger;
	const Clock& _clock;
	Poco::FastMutex _taskMutex;  /// Guards _tasks, the only member other threads write.
	std::vector<Task> _tasks;
	std::vector<Task> _running;  /// Loop thread only, as every member below but the atomics.
	std::atomic<bool> _stopped{false};
	std::atomic<std::size_t> _connectionCount{0};
	std::unordered_map<Poco::UInt64, std::unique_ptr<Connection>> _connections;
	std::vector<std::unique_ptr<Connection>> _closed;
	std::vector<Connection*> _dirty;
	std::vector<std::unique_ptr<std::string>> _spareOutputs;
	TimerWheel _timers;
	Poco::UInt32 _tick = 0;
	Poco::Int64 _startMs;
	Poco::UInt64 _idCounter = 0;
	std::atomic<unsigned long> _threadId{0};
	std::unique_ptr<char[]> _pReadBuffer;
	ConnectionLimiter* _pLimiter = nullptr;
	metrics::LoopCounters _counters;
};


inline std::size_t EventLoop::index() const
{
	return _index;
}


inline TimerWheel& EventLoop::timers()
{
	poco_assert_dbg(inLoopContext());
	return _timers;
}


inline metrics::LoopCounters& EventLoop::counters()
{
	return _counters;
}


inline Poco::UInt32 EventLoop::tick() const
{
	return _tick;
}


inline std::size_t EventLoop::connectionCount() const
{
	return _connectionCount.load(std::memory_order_relaxed);
}


inline Poco::UInt32 EventLoop::ticksFromSeconds(unsigned seconds)
{
	return static_cast<Poco::UInt32>(seconds * (1000 / TICK_MS));
}


template <class F>
void EventLoop::forEach(F&& f)
{
	poco_assert_dbg(inLoopContext());
	// Collect first: f may close connections.
	std::vector<Connection*> all;
	all.reserve(_connections.size());
	for (auto& entry: _connections) all.push_back(entry.second.get());
	for (Connection* p: all) f(*p);
}

} } // namespace imgate::net

#endif // imgate_net_EventLoop_INCLUDED
