//
// AdminWorkers.cpp
//
// Layer: admin
//

#include "server/admin/AdminWorkers.h"
#include "Poco/Logger.h"
#include <exception>
#include <string>

namespace imgate {
namespace admin {

AdminWorkers::AdminWorkers(unsigned threads, std::size_t maxQueued):
	_maxQueued(maxQueued)
{
	for (unsigned i = 0; i < threads; ++i)
		_threads.emplace_back(new Poco::Thread("imgate-admin-" + std::to_string(i)));
}


AdminWorkers::~AdminWorkers()
{
	stop();
}


void AdminWorkers::start()
{
	for (auto& pThread: _threads) pThread->start(*this);
}


bool AdminWorkers::submit(Job job)
{
	Poco::FastMutex::ScopedLock lock(_mutex);
	if (_stopping || _jobs.size() >= _maxQueued) return false;
	_jobs.push_back(std::move(job));
	_ready.signal();
	return true;
}


void AdminWorkers::stop()
{
	{
		Poco::FastMutex::ScopedLock lock(_mutex);
		_stopping = true;
		_ready.broadcast();
	}
	for (auto& pThread: _threads)
	{
		if (pThread->isRunning()) pThread->join();
	}
}


void AdminWorkers::run()
{
	for (;;)
	{
		Job job;
		{
			Poco::FastMutex::ScopedLock lock(_mutex);
			while (_jobs.empty() && !_stopping) _ready.wait(_mutex);
			if (_jobs.empty()) return;
			job = std::move(_jobs.front());
			_jobs.pop_front();
		}
		try
		{
			job();
		}
		catch (std::exception& exc)
		{
			Poco::Logger::get("imgate.admin").error("admin job failed: %s", std::string(exc.what()));
		}
		catch (...)
		{
			Poco::Logger::get("imgate.admin").error("admin job failed with an unknown exception");
		}
	}
}

} } // namespace imgate::admin
