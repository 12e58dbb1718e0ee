//
// SessionManager.cpp
//
// Layer: session
//

#include "server/session/SessionManager.h"
#include <algorithm>
#include "server/protocol/LogText.h"
#include "server/session/Session.h"
#include "server/net/EventLoop.h"
#include "Poco/Bugcheck.h"
#include "Poco/Timestamp.h"
#include <random>

namespace imgate {
namespace session {

SessionManager::SessionManager(const SessionConfig& config, net::LoopPool& loops, store::MessageStore& store, const plugin::FilterChain& filters,
		ClusterLink* pCluster):
	_loops(loops),
	_filters(filters),
	_store(store),
	_pCluster(pCluster),
	_handsOverStored(store.announcesStored() && !pCluster),
	_directory(static_cast<Poco::Int64>(config.takeoverGuard) * 1000),
	_logger(Poco::Logger::get("imgate.session")),
	_unauthenticatedLogBudgets(loops.size())
{
	reconfigure(config);
	if (_handsOverStored) _store.setListener(this);
}


SessionManager::~SessionManager()
{
	_store.setListener(nullptr);
}


void SessionManager::reconfigure(const SessionConfig& config)
{
	_configs.emplace_back(new SessionConfig(config));
	_pConfig.store(_configs.back().get(), std::memory_order_release);
}


Poco::UInt64 SessionManager::admissionTicket()
{
	if (_addressKicksHeld.load(std::memory_order_relaxed))
	{
		// Every accept lets go of the matchers that have had their time.
		Poco::FastMutex::ScopedLock lock(_addressKicksMutex);
		forgetOldAddressKicks();
	}
	return _addressKickCount.load(std::memory_order_acquire);
}


std::unique_ptr<net::Connection> SessionManager::createConnection(net::EventLoop& loop, const Poco::Net::StreamSocket& socket, const net::PeerAddress& peer, Poco::UInt64 ticket)
{
	return admit(std::unique_ptr<Session>(new Session(loop, socket, peer, *this)), ticket);
}


std::unique_ptr<net::Connection> SessionManager::admit(std::unique_ptr<Session> pSession, Poco::UInt64 ticket)
{
	net::EventLoop& loop = pSession->loop();
	// A hand-off still in the loop's queue when the drain swept the loop
	// would otherwise never be kicked.
	if (_draining) pSession->scheduleDrainKick(loop.tick() + 1);
	// A ban that came while this connection was past its accept check and
	// not yet in its loop posted its kicks before the loop had it.
	if (_addressKickCount.load(std::memory_order_acquire) != ticket)
	{
		const SessionRef ref = pSession->ref();
		loop.post([this, ref, ticket]()
		{
			if (Session* pAdopted = find(ref)) kickIfBannedSince(*pAdopted, ticket);
		});
	}
	return std::unique_ptr<net::Connection>(pSession.release());
}


void SessionManager::kickIfBannedSince(Session& session, Poco::UInt64 ticket)
{
	poco_assert_dbg(session.loop().inLoopContext());
	std::vector<AddressKick> since;
	{
		// Copied out: a plugin's matcher never runs under this lock.
		Poco::FastMutex::ScopedLock lock(_addressKicksMutex);
		forgetOldAddressKicks();
		if (ticket < _addressKicksForgotten)
		{
			// A ban this connection's accept check did not see is no
			// longer known here: let it come back through the checks.
			session.kick(protocol::KickReason::SHUTDOWN, "the ban list changed while this connection was admitted; reconnect");
			return;
		}
		for (const AddressKick& k: _addressKicks)
		{
			if (k.number > ticket) since.push_back(k);
		}
	}
	const std::string address = session.peer().host();
	for (const AddressKick& k: since)
	{
		if ((*k.pMatch)(address))
		{
			session.kick(k.reason, k.message);
			return;
		}
	}
}


template <class Task>
void SessionManager::runOn(std::size_t loopIndex, Task&& task)
{
	net::EventLoop& loop = _loops.loop(loopIndex);
	if (loop.inLoopThread()) task();
	else loop.post(std::forward<Task>(task));
}


Session* SessionManager::find(const SessionRef& ref)
{
	// Every connection this factory creates is a Session.
	return static_cast<Session*>(_loops.loop(ref.loop).find(ref.id));
}


SessionManager::LoginOutcome SessionManager::login(Session& session, const std::string& uid, const std::string& device, bool carbons, Poco::Int64& retryInMs)
{
	poco_assert_dbg(session.loop().inLoopContext());
	if (_draining) return LOGIN_DRAINING;
	const SessionConfig& settings = config();
	UidDirectory::Claim claim = settings.perDevice()
		? _directory.claimDevice(uid, session.ref(), Session::deviceKey(device), carbons, settings.maxDevices)
		: _directory.claim(uid, session.ref(), device, Poco::Timestamp().epochMicroseconds() / 1000);
	// The session logs the refusals, within its loop's budget for
	// connections not logged in (a client may retry in a loop).
	if (claim.deviceLimit) return LOGIN_DEVICE_LIMIT;
	if (claim.refused)
	{
		retryInMs = claim.retryInMs;
		return LOGIN_REFUSED_TAKEOVER;
	}
	if (_pCluster) _pCluster->online(uid, !settings.perDevice());
	if (claim.previous.valid())
	{
		SessionRef previous = claim.previous;
		runOn(previous.loop, [this, previous]()
		{
			if (Session* pOld = find(previous))
				pOld->kick(protocol::KickReason::DUPLICATE_LOGIN, "logged in from another connection");
		});
	}
	return LOGIN_OK;
}


void SessionManager::closed(Session& session)
{
	poco_assert_dbg(session.loop().inLoopContext());
	if (!session.loggedIn()) return;
	_directory.release(session.uid(), session.ref());
	if (_pCluster && !_directory.find(session.uid()).valid()) _pCluster->offline(session.uid());
	_logger.information("closed uid=%s peer=%s session=%Lx", session.uid(), session.peer().toString(), session.id());
}


void SessionManager::submit(Session& sender, Poco::UInt32 seq, store::NewMessage message)
{
	poco_assert_dbg(sender.loop().inLoopContext());
	const SessionRef ref = sender.ref();
	const Poco::UInt64 clientMsgId = message.clientMsgId;
	// The recipients online get the message from stored(), before this
	// answer; from a store that does not announce, they are woken to read
	// it after the answer, and need its address (not its payload).
	std::shared_ptr<const store::StoredMessage> pAddress;
	if (!_handsOverStored)
	{
		auto p = std::make_shared<store::StoredMessage>();
		p->fromUid = message.fromUid;
		p->toUid = message.toUid;
		p->groupId = message.toGroup;
		pAddress = std::move(p);
	}
	_store.append(std::move(message), [this, ref, seq, clientMsgId, pAddress](const store::AppendResult& result)
	{
		// The ack needs no member list (a group's may be long).
		store::AppendResult answer;
		answer.outcome = result.outcome;
		answer.msgId = result.msgId;
		answer.timestampMs = result.timestampMs;
		answer.error = result.error;
		if (result.outcome == store::AppendResult::STORED && !result.members.empty())
			_metrics.groupFanout.observe(static_cast<double>(result.members.size()));
		runOn(ref.loop, [this, ref, seq, clientMsgId, answer]()
		{
			// Counted on the sender's loop, also when the sender is gone.
			metrics::LoopCounters& counters = _loops.loop(ref.loop).counters();
			if (answer.outcome == store::AppendResult::STORED) counters.messagesAccepted.add();
			else if (answer.outcome == store::AppendResult::DUPLICATE) counters.messagesDuplicate.add();
			if (Session* pSender = find(ref)) pSender->sendAck(seq, clientMsgId, answer);
		});
		// A FAILED write is logged by the store once per episode, and by the
		// sender's session within its error-log budget.
		if (pAddress && result.outcome == store::AppendResult::STORED)
		{
			thread_local std::vector<SessionRef> refs;
			refs.clear();
			addRecipients(pAddress->fromUid, pAddress->toUid, pAddress->groupId, result.members, refs);
			post(refs, [](Session& s) { s.deliverPending(); });
			if (_pCluster)
			{
				// The sender's other nodes too: its devices there may take carbons.
				if (pAddress->groupId.empty())
				{
					std::vector<std::string> uids{pAddress->toUid};
					if (pAddress->fromUid != pAddress->toUid) uids.push_back(pAddress->fromUid);
					_pCluster->stored(uids);
				}
				else
				{
					_pCluster->stored(result.members);
				}
			}
		}
	});
}


void SessionManager::stored(const std::shared_ptr<const store::StoredMessage>& pMessage, const std::vector<std::string>& members)
{
	thread_local std::vector<SessionRef> refs;
	refs.clear();
	addRecipients(pMessage->fromUid, pMessage->toUid, pMessage->groupId, members, refs);
	// Always posted (StoreListener: a store may call under its locks); the
	// loop's queue keeps the messages in msgId order.
	post(refs, [pMessage](Session& s) { s.deliverStored(*pMessage); }, false);
}


void SessionManager::addRecipients(const std::string& fromUid, const std::string& toUid, const std::string& groupId, const std::vector<std::string>& members, std::vector<SessionRef>& refs)
{
	if (groupId.empty())
	{
		addSessions(toUid, false, SessionRef(), refs);
		if (toUid != fromUid) addSessions(fromUid, true, SessionRef(), refs);
	}
	else
	{
		for (const std::string& uid: members) addSessions(uid, uid == fromUid, SessionRef(), refs);
	}
}


void SessionManager::addSessions(const std::string& uid, bool carbonsOnly, const SessionRef& except, std::vector<SessionRef>& refs)
{
	thread_local std::vector<UidDirectory::Member> members;
	members.clear();
	_directory.sessions(uid, members);
	for (const UidDirectory::Member& m: members)
	{
		if ((carbonsOnly && !m.carbons) || m.session == except) continue;
		refs.push_back(m.session);
	}
}


template <class Action>
void SessionManager::post(std::vector<SessionRef>& refs, const Action& action, bool mayRunHere)
{
	if (refs.empty()) return;
	// One task per loop: a group of 1,000 members costs at most one post
	// per loop, and no loop runs any session but its own.
	std::sort(refs.begin(), refs.end(), [](const SessionRef& a, const SessionRef& b) { return a.loop < b.loop || (a.loop == b.loop && a.id < b.id); });
	std::size_t first = 0;
	while (first < refs.size())
	{
		std::size_t last = first;
		while (last < refs.size() && refs[last].loop == refs[first].loop) ++last;
		const std::size_t loop = refs[first].loop;
		auto dispatch = [this, loop, mayRunHere](auto&& task)
		{
			if (mayRunHere) runOn(loop, std::move(task));
			else _loops.loop(loop).post(std::move(task));
		};
		if (last - first == 1)
		{
			const SessionRef ref = refs[first];
			auto task = [this, ref, action]()
			{
				if (Session* pSession = find(ref)) action(*pSession);
			};
			dispatch(std::move(task));
		}
		else
		{
			auto pRefs = std::make_shared<std::vector<SessionRef>>(refs.begin() + static_cast<std::ptrdiff_t>(first), refs.begin() + static_cast<std::ptrdiff_t>(last));
			auto task = [this, pRefs, action]()
			{
				for (const SessionRef& ref: *pRefs)
				{
					if (Session* pSession = find(ref)) action(*pSession);
				}
			};
			dispatch(std::move(task));
		}
		first = last;
	}
}


void SessionManager::fetchPending(Session& session, Poco::UInt64 afterMsgId, std::size_t limit, bool retransmission)
{
	poco_assert_dbg(session.loop().inLoopContext());
	const SessionRef ref = session.ref();
	_store.readPending(session.inboxReader(), afterMsgId, limit, [this, ref, retransmission](store::PendingPage&& page)
	{
		// std::function needs a copyable task: share the page, never copy it.
		auto pPage = std::make_shared<store::PendingPage>(std::move(page));
		runOn(ref.loop, [this, ref, retransmission, pPage]()
		{
			if (Session* pSession = find(ref)) pSession->onPending(*pPage, retransmission);
		});
	});
}


void SessionManager::sendTransient(Session& sender, Poco::UInt32 seq, Poco::UInt64 clientMsgId, const std::string& toUid, const std::string& toGroup,
	std::shared_ptr<const std::string> pFrame)
{
	poco_assert_dbg(sender.loop().inLoopContext());
	const SessionRef from = sender.ref();
	const std::string fromUid = sender.uid();
	// Recipients get it on every session (a message to oneself: the other
	// sessions); the sender's other sessions as a carbon.
	auto handOut = [this, from, fromUid, pFrame](const std::vector<std::string>& uids, bool toSelf)
	{
		std::vector<SessionRef> refs;
		for (const std::string& uid: uids) addSessions(uid, uid == fromUid && !toSelf, from, refs);
		post(refs, [pFrame](Session& s) { s.deliverTransient(*pFrame); });
	};
	auto answer = [this, from, seq, clientMsgId](protocol::Status status)
	{
		runOn(from.loop, [this, from, seq, clientMsgId, status]()
		{
			if (Session* pSender = find(from)) pSender->answerTransient(seq, clientMsgId, status);
		});
	};
	if (toGroup.empty())
	{
		std::vector<std::string> uids{toUid};
		if (toUid != fromUid) uids.push_back(fromUid);
		handOut(uids, toUid == fromUid);
		answer(protocol::Status::OK);
		return;
	}
	_store.readGroup(toGroup, [this, fromUid, handOut, answer](bool ok, bool found, const store::Group& group)
	{
		if (!ok)
		{
			answer(protocol::Status::SERVER_BUSY); // the store could not read (it logged why)
			return;
		}
		if (!found || !std::binary_search(group.members.begin(), group.members.end(), fromUid))
		{
			answer(protocol::Status::NOT_MEMBER);
			return;
		}
		handOut(group.members, false);
		_metrics.groupFanout.observe(static_cast<double>(group.members.size()));
		answer(protocol::Status::OK);
	});
}


void SessionManager::readHistory(Session& session, Poco::UInt32 seq, const store::HistoryQuery& query)
{
	poco_assert_dbg(session.loop().inLoopContext());
	const SessionRef ref = session.ref();
	const Poco::Clock asked;
	_store.readHistory(query, [this, ref, seq, asked](store::HistoryPage&& page)
	{
		auto pPage = std::make_shared<store::HistoryPage>(std::move(page));
		runOn(ref.loop, [this, ref, seq, pPage, asked]()
		{
			if (Session* pSession = find(ref)) pSession->sendHistory(seq, *pPage);
			_metrics.historySeconds.observe(static_cast<double>(asked.elapsed()) / 1e6);
		});
	});
}


void SessionManager::wake(const std::string& uid)
{
	std::vector<SessionRef> refs;
	addSessions(uid, false, SessionRef(), refs);
	post(refs, [](Session& s) { s.deliverPending(); }, false);
}


void SessionManager::wakeAll()
{
	std::vector<std::string> uids;
	_directory.uids(uids);
	std::vector<SessionRef> refs;
	for (const std::string& uid: uids) addSessions(uid, false, SessionRef(), refs);
	post(refs, [](Session& s) { s.deliverPending(); }, false);
}


bool SessionManager::kickUid(const std::string& uid, imgate::KickReason reason, const std::string& message)
{
	std::vector<SessionRef> refs;
	addSessions(uid, false, SessionRef(), refs);
	if (refs.empty()) return false;
	for (const SessionRef& ref: refs)
	{
		runOn(ref.loop, [this, ref, uid, reason, message]()
		{
			Session* pSession = find(ref);
			if (pSession && pSession->uid() == uid)
				pSession->kick(static_cast<protocol::KickReason>(static_cast<Poco::UInt32>(reason)), message);
		});
	}
	return true;
}


void SessionManager::kickAddresses(std::function<bool(const std::string& address)> match, imgate::KickReason reason, const std::string& message)
{
	std::shared_ptr<const std::function<bool(const std::string&)>> pMatch = std::make_shared<std::function<bool(const std::string&)>>(std::move(match));
	const protocol::KickReason kickReason = static_cast<protocol::KickReason>(static_cast<Poco::UInt32>(reason));
	{
		// Recorded before the kicks are posted: a connection whose ticket
		// predates this call finds it when its loop adopts it.
		Poco::FastMutex::ScopedLock lock(_addressKicksMutex);
		const Poco::UInt64 number = _addressKickCount.load(std::memory_order_relaxed) + 1;
		_addressKicks.push_back(AddressKick{number, Poco::Clock(), pMatch, kickReason, message});
		forgetOldAddressKicks();
		_addressKickCount.store(number, std::memory_order_release);
	}
	for (std::size_t i = 0; i < _loops.size(); ++i)
	{
		net::EventLoop& loop = _loops.loop(i);
		loop.post([&loop, pMatch, kickReason, message]()
		{
			loop.forEach([&](net::Connection& c)
			{
				Session& s = static_cast<Session&>(c);
				if (!s.closing() && (*pMatch)(s.peer().host())) s.kick(kickReason, message);
			});
		});
	}
}


void SessionManager::forgetOldAddressKicks()
{
	while (!_addressKicks.empty() && (_addressKicks.size() > ADDRESS_KICKS_KEPT
		|| _addressKicks.front().when.isElapsed(Poco::Clock::ClockDiff(ADDRESS_KICK_KEEP_SECONDS) * Poco::Clock::resolution())))
	{
		_addressKicksForgotten = _addressKicks.front().number;
		_addressKicks.pop_front();
	}
	_addressKicksHeld.store(_addressKicks.size(), std::memory_order_relaxed);
}


void SessionManager::ban(const imgate::BanRequest& request)
{
	_logger.information("ban address=%s uid=%s %s by %s: %s", request.address, request.uid,
		request.seconds ? "for " + std::to_string(request.seconds) + " s" : std::string("until lifted"), protocol::escaped(request.origin, 64), protocol::quoted(request.reason));
	_filters.ban(request);
}


void SessionManager::beginDrain()
{
	if (_draining.exchange(true)) return;
	const Poco::UInt32 spread = net::EventLoop::ticksFromSeconds(config().drainTime);
	for (std::size_t i = 0; i < _loops.size(); ++i)
	{
		net::EventLoop& loop = _loops.loop(i);
		loop.post([&loop, spread]()
		{
			// Jitter: spread the kicks over drainTime so a fleet of clients
			// does not reconnect to the next server all at once.
			std::minstd_rand random(static_cast<unsigned>(Poco::Timestamp().epochMicroseconds() + loop.index()));
			loop.forEach([&](net::Connection& c)
			{
				Poco::UInt32 offset = spread ? static_cast<Poco::UInt32>(random() % spread) : 0;
				static_cast<Session&>(c).scheduleDrainKick(loop.tick() + 1 + offset);
			});
		});
	}
}


LogBudget& SessionManager::unauthenticatedLogBudget(const net::EventLoop& loop)
{
	poco_assert_dbg(loop.inLoopContext());
	return _unauthenticatedLogBudgets[loop.index()];
}


std::size_t SessionManager::sessionCount() const
{
	return _loops.connectionCount();
}

} } // namespace imgate::session
