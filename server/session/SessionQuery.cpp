//
// SessionQuery.cpp
//
// Layer: session
//

#include "server/session/SessionQuery.h"
#include "server/session/Session.h"
#include "Poco/Bugcheck.h"
#include "Poco/Event.h"
#include "Poco/Mutex.h"
#include <algorithm>
#include <memory>

namespace imgate {
namespace session {

namespace {

struct Gathering
	/// Shared with the loops' tasks, so a task that runs after the caller
	/// gave up writes into memory that still exists.
{
	Poco::FastMutex mutex;
	Poco::Event done;
	std::size_t remaining = 0;
	std::size_t limit = 0;
	bool truncated = false;
	std::vector<SessionSummary> sessions;
};


SessionSummary summarize(const Session& s, std::size_t loop)
{
	SessionSummary summary;
	summary.uid = s.uid();
	summary.peer = s.peer().toString();
	summary.device = s.device();
	summary.transport = transportName(s.transport());
	summary.loginTime = s.loginTime();
	summary.inFlight = s.inFlight();
	summary.loop = loop;
	return summary;
}

} // namespace


SessionQuery::SessionQuery(net::LoopPool& loops, const UidDirectory& directory):
	_loops(loops),
	_directory(directory)
{
}


SessionQuery::Page SessionQuery::list(const std::string& uidPrefix, std::size_t limit, long timeoutMs) const
{
	poco_assert_dbg(!_loops.inAnyLoopThread());
	auto pGathering = std::make_shared<Gathering>();
	pGathering->remaining = _loops.size();
	pGathering->limit = limit;
	for (std::size_t i = 0; i < _loops.size(); ++i)
	{
		net::EventLoop& loop = _loops.loop(i);
		loop.post([&loop, i, pGathering, uidPrefix]()
		{
			std::vector<SessionSummary> found;
			loop.forEach([&](net::Connection& c)
			{
				const Session& s = static_cast<const Session&>(c);
				if (s.loggedIn() && !s.closing() && s.uid().compare(0, uidPrefix.size(), uidPrefix) == 0)
					found.push_back(summarize(s, i));
			});
			// Only the first limit + 1 by uid can be in the answer.
			const std::size_t keep = pGathering->limit + 1;
			if (found.size() > keep)
			{
				std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep), found.end(),
					[](const SessionSummary& a, const SessionSummary& b) { return a.uid < b.uid; });
				found.resize(keep);
			}
			Poco::FastMutex::ScopedLock lock(pGathering->mutex);
			for (auto& s: found) pGathering->sessions.push_back(std::move(s));
			if (--pGathering->remaining == 0) pGathering->done.set();
		});
	}
	Page page;
	page.complete = _loops.size() == 0 || pGathering->done.tryWait(timeoutMs);
	Poco::FastMutex::ScopedLock lock(pGathering->mutex);
	page.sessions = std::move(pGathering->sessions);
	pGathering->sessions.clear();
	std::sort(page.sessions.begin(), page.sessions.end(),
		[](const SessionSummary& a, const SessionSummary& b) { return a.uid < b.uid; });
	if (page.sessions.size() > limit)
	{
		page.sessions.resize(limit);
		page.truncated = true;
	}
	return page;
}


bool SessionQuery::find(const std::string& uid, SessionSummary& summary, long timeoutMs) const
{
	poco_assert_dbg(!_loops.inAnyLoopThread());
	const SessionRef ref = _directory.find(uid);
	if (!ref.valid() || ref.loop >= _loops.size()) return false;
	auto pGathering = std::make_shared<Gathering>();
	net::EventLoop& loop = _loops.loop(ref.loop);
	loop.post([&loop, ref, pGathering]()
	{
		net::Connection* pConnection = loop.find(ref.id);
		const Session* pSession = static_cast<const Session*>(pConnection);
		Poco::FastMutex::ScopedLock lock(pGathering->mutex);
		if (pSession && pSession->loggedIn() && !pSession->closing())
			pGathering->sessions.push_back(summarize(*pSession, ref.loop));
		pGathering->done.set();
	});
	if (!pGathering->done.tryWait(timeoutMs)) return false;
	Poco::FastMutex::ScopedLock lock(pGathering->mutex);
	if (pGathering->sessions.empty() || pGathering->sessions.front().uid != uid) return false;
	summary = pGathering->sessions.front();
	return true;
}

} } // namespace imgate::session
