//
// AdminWorkers.h
//
// Layer: admin
// The admin threads: they run admin requests, which may wait (for the
// loops' answers, for the store), so that the listener's own loop never
// does.
//

#ifndef imgate_admin_AdminWorkers_INCLUDED
#define imgate_admin_AdminWorkers_INCLUDED

#include "Poco/Condition.h"
#include "Poco/Mutex.h"
#include "Poco/Runnable.h"
#include "Poco/Thread.h"
#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace imgate {
namespace admin {

class AdminWorkers: private Poco::Runnable
	/// threads threads taking jobs from one queue of at most maxQueued.
	/// submit() from any thread; start() and stop() from the main thread.
{
public:
	using Job = std::function<void()>;

	AdminWorkers(unsigned threads, std::size_t maxQueued);
	~AdminWorkers();
		/// stop().

	void start();
		/// Starts the threads ("imgate-admin-N").

	bool submit(Job job);
		/// Queues job; false if the queue is full or the workers stopped
		/// (the caller answers 503). A job that throws is logged.

	void stop();
		/// Runs what is queued, then joins the threads. Idempotent.

private:
	void run() override;

	const std::size_t _maxQueued;
	Poco::FastMutex _mutex;       /// Guards _jobs and _stopping.
	Poco::Condition _ready;
	std::deque<Job> _jobs;
	bool _stopping = false;
	std::vector<std::unique_ptr<Poco::Thread>> _threads;
};

} } // namespace imgate::admin

#endif // imgate_admin_AdminWorkers_INCLUDED
