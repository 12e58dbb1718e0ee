//
// DurableMessageStore.cpp
//
// Layer: store
//

#include "server/store/DurableMessageStore.h"
#include "Poco/Clock.h"
#include "Poco/Timestamp.h"
#include <algorithm>

namespace imgate {
namespace store {

namespace {

Poco::Int64 nowMs()
{
	return Poco::Timestamp().epochMicroseconds() / 1000;
}

} // namespace


class DurableMessageStore::ReaderThread: public Poco::Runnable
{
public:
	ReaderThread(DurableMessageStore& store, std::unique_ptr<StoreReader> pReader, int index):
		_store(store),
		_pReader(std::move(pReader)),
		_thread("imgate-store-read" + std::to_string(index))
	{
	}

	void start()
	{
		_thread.start(*this);
	}

	void join()
	{
		if (_thread.isRunning()) _thread.join();
	}

	void run() override
	{
		_store.readerLoop(*_pReader);
	}

	StoreReader& reader()
	{
		return *_pReader;
	}

private:
	DurableMessageStore& _store;
	std::unique_ptr<StoreReader> _pReader;
	Poco::Thread _thread;
};


DurableMessageStore::DurableMessageStore(std::unique_ptr<StoreDatabase> pDatabase, const Options& options):
	_options(options),
	_logger(Poco::Logger::get("imgate.store")),
	_pDatabase(std::move(pDatabase)),
	_name(_pDatabase->name()),
	_writerThread("imgate-store-write")
{
	StoreWriter::Limits limits;
	limits.maxPendingPerRecipient = options.maxPendingPerRecipient;
	// Without history, acknowledged rows follow store.deliveredRetention
	// (0: deleted at once) and nobody reads a sender's own rows.
	limits.deleteOnAcknowledge = options.historyRetention == 0 && options.deliveredRetention == 0;
	limits.recordSent = options.historyRetention > 0 || options.devices;
	_pWriter = _pDatabase->openWriter(limits);
	// One more connection than reader threads: pendingCount() uses it on
	// the caller's thread.
	const unsigned readers = options.readThreads ? options.readThreads : 1;
	for (unsigned i = 0; i <= readers; ++i)
	{
		_readers.emplace_back(new ReaderThread(*this, _pDatabase->openReader(), static_cast<int>(i)));
	}
}


DurableMessageStore::~DurableMessageStore()
{
	try
	{
		close();
	}
	catch (...)
	{
		// Destructors never throw; close() logs what went wrong.
	}
}


void DurableMessageStore::start()
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	if (_started || _stopping) return;
	_started = true;
	_writerThread.start(*this);
	for (std::size_t i = 1; i < _readers.size(); ++i) _readers[i]->start();
}


std::string DurableMessageStore::describe() const
{
	return _pDatabase->describe();
}


std::size_t DurableMessageStore::cost(const NewMessage& message)
{
	return message.payload.size() + message.fromUid.size() + message.toUid.size() + sizeof(QueuedAppend);
}


void DurableMessageStore::append(NewMessage message, AppendCallback done)
{
	AppendResult refused;
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		// A group message writes a row per member: charged as such, so that
		// the queue's bound holds for the work it stands for.
		std::size_t rows = 1;
		if (!message.toGroup.empty())
		{
			auto known = _groupSizes.find(message.toGroup);
			if (known != _groupSizes.end()) rows = std::max<std::size_t>(known->second, 1);
		}
		const std::size_t bytes = cost(message) + (rows - 1) * INBOX_ROW_COST;
		if (!_started || _stopping)
		{
			refused.outcome = AppendResult::FAILED;
			refused.error = "the store is not running";
		}
		else if (!_appends.empty() && _queuedBytes + bytes > _options.maxQueuedBytes)
		{
			// The disk is not keeping up: say so now instead of queueing
			// without bound.
			refused.outcome = AppendResult::STORE_FULL;
			refused.error = "the store's write queue is full";
		}
		else
		{
			_appends.push_back(QueuedAppend{std::move(message), std::move(done), bytes, rows, ++_queuedSeq});
			_queuedBytes += bytes;
			_queueReady.signal();
			return;
		}
	}
	done(refused);
}


void DurableMessageStore::openDevice(const std::string& uid, const std::string& device)
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	if (!_started || _stopping) return;
	QueuedAck open{uid, device, 0};
	open.open = true;
	queueAck(std::move(open));
	_queueReady.signal();
}


void DurableMessageStore::queueAck(QueuedAck&& ack)
{
	if (_acks.empty()) _acksSince.update();
	_acks.push_back(std::move(ack));
	++_queuedSeq;
}


void DurableMessageStore::acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds)
{
	{
		Poco::ScopedWriteRWLock lock(_ackedLock);
		Acked& acked = _acked[positionKey(uid, device)];
		if (position > acked.position)
		{
			acked.position = position;
			for (auto it = acked.above.begin(); it != acked.above.end();)
			{
				if (*it <= position) it = acked.above.erase(it);
				else ++it;
			}
		}
		for (Poco::UInt64 id: msgIds)
		{
			if (id > acked.position && acked.above.size() < MAX_ACKED_ABOVE) acked.above.insert(id);
		}
		position = acked.position;
		++acked.queued;
	}
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		if (_started && !_stopping)
		{
			// No wake-up per acknowledgement: it rides with the next send's
			// commit, or goes alone after ACK_COMMIT_DELAY_MS (an ack lost
			// in a crash only means the message is delivered again).
			queueAck(QueuedAck{uid, device, position});
			if (_writerIdle || _acks.size() >= MAX_DELAYED_ACKS) _queueReady.signal();
			return;
		}
	}
	forgetAcks(std::vector<QueuedAck>{QueuedAck{uid, device, position}}); // delivered again after the restart
}


void DurableMessageStore::queueRead(ReadTask task)
{
	{
		Poco::FastMutex::ScopedLock lock(_readMutex);
		if (!_readersStopping)
		{
			_reads.push_back(std::move(task));
			_readReady.signal();
			return;
		}
	}
	task(nullptr);
}


void DurableMessageStore::readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done)
{
	auto pRequest = std::make_shared<ReadRequest>(ReadRequest{reader, afterMsgId, limit, std::move(done)});
	queueRead([this, pRequest](StoreReader* pReader)
	{
		if (pReader)
		{
			serveRead(*pReader, *pRequest);
			return;
		}
		PendingPage page;
		page.ok = false;
		pRequest->done(std::move(page));
	});
}


void DurableMessageStore::readHistory(const HistoryQuery& query, HistoryCallback done)
{
	auto pDone = std::make_shared<HistoryCallback>(std::move(done));
	queueRead([this, query, pDone](StoreReader* pReader)
	{
		if (pReader)
		{
			serveHistory(*pReader, query, *pDone);
			return;
		}
		HistoryPage page;
		page.ok = false;
		(*pDone)(std::move(page));
	});
}


void DurableMessageStore::serveHistory(StoreReader& reader, const HistoryQuery& query, HistoryCallback& done)
{
	HistoryPage page;
	try
	{
		reader.history(query, page);
	}
	catch (Poco::Exception& exc)
	{
		page = HistoryPage();
		page.ok = false;
		_logger.error("cannot read %s: %s", _name, _pDatabase->cause(exc));
	}
	done(std::move(page));
}


void DurableMessageStore::changeGroup(const GroupChange& change, GroupCallback done)
{
	GroupResult refused;
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		if (_started && !_stopping)
		{
			_groupChanges.push_back(QueuedGroupChange{change, std::move(done)});
			++_queuedSeq;
			_queueReady.signal();
			return;
		}
		refused.outcome = GroupResult::FAILED;
		refused.error = "the store is not running";
	}
	done(refused);
}


bool DurableMessageStore::findGroup(const std::string& gid, Group& group)
{
	Poco::FastMutex::ScopedLock lock(_countMutex);
	if (_readers.empty()) throw StoreException(_name + ": the store is closed");
	return _readers.front()->reader().findGroup(gid, group);
}


void DurableMessageStore::readGroup(const std::string& gid, FindGroupCallback done)
{
	auto pDone = std::make_shared<FindGroupCallback>(std::move(done));
	queueRead([this, gid, pDone](StoreReader* pReader)
	{
		Group group;
		bool ok = pReader != nullptr; // null: the store is stopping
		bool found = false;
		if (pReader)
		{
			try
			{
				found = pReader->findGroup(gid, group);
			}
			catch (Poco::Exception& exc)
			{
				ok = false;
				_logger.error("cannot read %s: %s", _name, _pDatabase->cause(exc));
			}
		}
		(*pDone)(ok, found, group);
	});
}


std::vector<std::string> DurableMessageStore::listGroups(const std::string& prefix, std::size_t limit, bool& truncated)
{
	Poco::FastMutex::ScopedLock lock(_countMutex);
	if (_readers.empty()) throw StoreException(_name + ": the store is closed");
	return _readers.front()->reader().listGroups(prefix, limit, truncated);
}


void DurableMessageStore::readerLoop(StoreReader& reader)
{
	for (;;)
	{
		ReadTask task;
		{
			Poco::FastMutex::ScopedLock lock(_readMutex);
			while (_reads.empty() && !_readersStopping) _readReady.wait(_readMutex);
			if (_reads.empty()) return;
			task = std::move(_reads.front());
			_reads.pop_front();
		}
		task(&reader);
	}
}


void DurableMessageStore::serveRead(StoreReader& reader, ReadRequest& request)
{
	PendingPage page;
	try
	{
		// What the device has acknowledged, copied: the query runs without
		// the lock, which acknowledge() takes on the event loops and must
		// never wait for a database that is slow or gone. Whatever the
		// writer commits or forgets meanwhile, the query and the filter
		// both use this copy (the database's own position can only be higher).
		Poco::UInt64 after = request.afterMsgId;
		std::unordered_set<Poco::UInt64> ids;
		{
			Poco::ScopedReadRWLock lock(_ackedLock);
			auto acked = _acked.find(positionKey(request.inbox.uid, request.inbox.device));
			if (acked != _acked.end())
			{
				if (acked->second.position > after) after = acked->second.position;
				ids = acked->second.above;
			}
		}
		reader.pending(request.inbox, after, request.limit + ids.size(), page.messages);
		if (!ids.empty())
		{
			page.messages.erase(std::remove_if(page.messages.begin(), page.messages.end(),
				[&ids](const StoredMessage& m) { return ids.count(m.msgId) > 0; }), page.messages.end());
		}
		if (page.messages.size() > request.limit) page.messages.resize(request.limit);
	}
	catch (Poco::Exception& exc)
	{
		page.ok = false;
		page.messages.clear();
		_logger.error("cannot read %s: %s", _name, _pDatabase->cause(exc));
	}
	request.done(std::move(page));
}


const StoreMetrics* DurableMessageStore::metrics() const
{
	return &_metrics;
}


bool DurableMessageStore::writable(std::string& why) const
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	why = _failureCause;
	return _failureCause.empty();
}


std::size_t DurableMessageStore::pendingCount(const std::string& uid)
{
	// _readers[0] has no thread; its connection serves callers in turn.
	Poco::FastMutex::ScopedLock lock(_countMutex);
	if (_readers.empty()) throw StoreException(_name + ": the store is closed");
	return _readers.front()->reader().pendingCount(uid);
}


void DurableMessageStore::run()
{
	const Poco::Clock::ClockDiff ackDelay = static_cast<Poco::Clock::ClockDiff>(ACK_COMMIT_DELAY_MS) * 1000;
	Poco::Timestamp nextCleanup;
	nextCleanup += static_cast<Poco::Timestamp::TimeDiff>(_options.cleanupInterval) * 1000000;
	Poco::Clock lastWrite; // monotonic, as _acksSince: a clock step never holds acknowledgements back
	for (;;)
	{
		CleanupRequest request{0, nullptr};
		bool cleanupDue = false;
		bool probeDue = false;
		{
			Poco::FastMutex::ScopedLock lock(_queueMutex);
			while (_appends.empty() && _groupChanges.empty() && _cleanupRequests.empty() && !_stopping && !_flushWanted)
			{
				const Poco::Clock now;
				// Acknowledgements alone wait for a send to commit with
				// (acknowledge()), at most ackDelay or MAX_DELAYED_ACKS.
				if (!_acks.empty() && (now - _acksSince >= ackDelay || _acks.size() >= MAX_DELAYED_ACKS)) break;
				Poco::Timestamp::TimeDiff wait = nextCleanup - Poco::Timestamp();
				if (wait <= 0)
				{
					cleanupDue = true;
					break;
				}
				if (!_failureCause.empty())
				{
					// While writes fail and nothing comes to write, try one
					// now and then: /readyz must see the disk recover.
					if (!_queueReady.tryWait(_queueMutex, FAILURE_PROBE_MS))
					{
						probeDue = true;
						break;
					}
					continue;
				}
				if (!_acks.empty()) wait = std::min<Poco::Timestamp::TimeDiff>(wait, ackDelay - (now - _acksSince));
				else if (now - lastWrite < ackDelay) wait = std::min<Poco::Timestamp::TimeDiff>(wait, ackDelay - (now - lastWrite));
				else _writerIdle = true; // traffic stopped: the next acknowledgement wakes the writer
				_queueReady.tryWait(_queueMutex, static_cast<long>(wait / 1000) + 1);
				_writerIdle = false;
			}
			_flushWanted = false;
			if (_appends.empty() && _acks.empty() && _groupChanges.empty())
			{
				if (!_cleanupRequests.empty())
				{
					request = _cleanupRequests.front();
					_cleanupRequests.pop_front();
				}
				else if (_stopping)
				{
					break;
				}
			}
		}
		// Sends and acknowledgements go first; cleanup waits for a quiet turn.
		if (writeQueued())
		{
			lastWrite.update();
			continue;
		}
		if (probeDue)
		{
			probeWrite();
			continue;
		}
		if (request.pDone)
		{
			cleanupRun(request.nowMs);
			request.pDone->set();
		}
		else if (cleanupDue)
		{
			cleanupRun(nowMs());
			nextCleanup.update();
			nextCleanup += static_cast<Poco::Timestamp::TimeDiff>(_options.cleanupInterval) * 1000000;
		}
	}
}


void DurableMessageStore::probeWrite()
{
	try
	{
		_pWriter->probe(PROBE_BYTES);
	}
	catch (Poco::Exception& exc)
	{
		// A failed probe is a commit rolled back like any other: the
		// counter keeps rising while the disk stays full, traffic or not,
		// and shows that a probe ran (not logged: once per episode is).
		_pWriter->rollback();
		_metrics.failedCommits.add();
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		++_statistics.failedCommits;
		_failureCause = "cannot write " + _name + ": " + _pDatabase->cause(exc);
		return;
	}
	_logger.notice("writing %s again after %Lu failed batches (%Lu sends refused)", _name, _failuresInEpisode, _refusedInEpisode);
	_failuresInEpisode = 0;
	_refusedInEpisode = 0;
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	_failureCause.clear();
}


void DurableMessageStore::writeBatch(std::vector<QueuedAppend>& appends, std::vector<QueuedAck>& acks)
{
	std::vector<AppendResult> results(appends.size());
	Failure failure;
	commitRange(appends, 0, appends.size(), acks, nowMs(), results, failure);
	if (failure.happened)
	{
		{
			Poco::FastMutex::ScopedLock lock(_queueMutex);
			_failureCause = "cannot write " + _name + ": " + failure.cause;
		}
		if (_failuresInEpisode++ == 0)
		{
			_logger.error("cannot write %s: %s; sends are refused with %s until writes succeed again",
				_name, failure.cause, std::string(failure.busy ? "SERVER_BUSY" : "INTERNAL"));
		}
	}
	else if (_failuresInEpisode > 0)
	{
		_logger.notice("writing %s again after %Lu failed batches (%Lu sends refused)",
			_name, _failuresInEpisode, _refusedInEpisode);
		_failuresInEpisode = 0;
		_refusedInEpisode = 0;
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		_failureCause.clear();
	}
	rememberGroupSizes(appends, results);
	const bool listened = announcing();
	for (std::size_t i = 0; i < appends.size(); ++i)
	{
		// In commit (= msgId) order, each before its sender's answer.
		if (listened && results[i].outcome == AppendResult::STORED) announceStored(appends[i].message, results[i]);
		appends[i].done(results[i]);
	}
	// Do not spin on a disk that stays full; sends queue meanwhile
	// (bounded by store.maxQueuedBytes).
	if (failure.happened) Poco::Thread::sleep(FAILURE_BACKOFF_MS);
}


bool DurableMessageStore::announcesStored() const
{
	return true;
}


void DurableMessageStore::announceStored(NewMessage& message, const AppendResult& result)
{
	// The queued copy is not needed again: its strings move.
	auto pStored = std::make_shared<StoredMessage>();
	pStored->msgId = result.msgId;
	pStored->fromUid = std::move(message.fromUid);
	pStored->fromDevice = std::move(message.fromDevice);
	pStored->toUid = std::move(message.toUid);
	pStored->groupId = std::move(message.toGroup);
	pStored->payload = std::move(message.payload);
	pStored->timestampMs = result.timestampMs;
	MessageStore::announce(pStored, result.members);
}


void DurableMessageStore::rememberGroupSizes(const std::vector<QueuedAppend>& appends, const std::vector<AppendResult>& results)
{
	bool any = false;
	for (std::size_t i = 0; i < appends.size() && !any; ++i) any = !results[i].members.empty();
	if (!any) return;
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	for (std::size_t i = 0; i < appends.size(); ++i)
	{
		if (!results[i].members.empty()) rememberGroupSize(appends[i].message.toGroup, results[i].members.size());
	}
}


void DurableMessageStore::rememberGroupSize(const std::string& gid, std::size_t members)
{
	if (_groupSizes.size() >= MAX_KNOWN_GROUP_SIZES && !_groupSizes.count(gid)) _groupSizes.clear();
	_groupSizes[gid] = members;
}


void DurableMessageStore::commitRange(std::vector<QueuedAppend>& appends, std::size_t first, std::size_t last,
	std::vector<QueuedAck>& acks, Poco::Int64 now, std::vector<AppendResult>& results, Failure& failure)
{
	const Poco::UInt64 committedBefore = _pWriter->lastMsgId();
	Poco::UInt64 stored = 0;
	const Poco::Clock started;
	std::vector<AppendResult> written; // filled in order, also when a later append throws
	try
	{
		_pWriter->begin();
		// Acknowledgements first: they arrived before these sends were
		// answered, and they make room under maxPendingPerRecipient. One
		// position per device: the highest.
		std::unordered_map<std::string, const QueuedAck*> highest;
		for (const auto& ack: acks)
		{
			if (ack.open) _pWriter->openDevice(ack.uid, ack.device);
		}
		for (const auto& ack: acks)
		{
			if (ack.open) continue;
			const QueuedAck*& pHighest = highest[positionKey(ack.uid, ack.device)];
			if (!pHighest || ack.position > pHighest->position) pHighest = &ack;
		}
		for (const auto& entry: highest) _pWriter->acknowledge(entry.second->uid, entry.second->device, entry.second->position);
		std::vector<const NewMessage*> messages;
		messages.reserve(last - first);
		for (std::size_t i = first; i < last; ++i) messages.push_back(&appends[i].message);
		_pWriter->appendAll(messages, now, written);
		for (std::size_t i = first; i < last; ++i)
		{
			results[i] = written[i - first];
			if (results[i].outcome == AppendResult::STORED) ++stored;
		}
		_pWriter->commit();
	}
	catch (Poco::Exception& exc)
	{
		_pWriter->rollback();
		_metrics.failedCommits.add();
		const bool full = _pDatabase->isFull(exc);
		{
			Poco::FastMutex::ScopedLock lock(_queueMutex);
			++_statistics.failedCommits;
		}
		if (full && last - first > 1)
		{
			// Part of the batch may still fit: try each half on its own.
			const std::size_t middle = first + (last - first) / 2;
			std::vector<QueuedAck> none;
			commitRange(appends, first, middle, acks, now, results, failure);
			commitRange(appends, middle, last, none, now, results, failure);
			return;
		}
		failure.happened = true;
		failure.busy = full || _pDatabase->isUnavailable(exc);
		failure.cause = _pDatabase->cause(exc);
		for (std::size_t i = first; i < last; ++i)
		{
			// A resend of a message committed earlier still gets its msg_id.
			if (i - first < written.size() && written[i - first].outcome == AppendResult::DUPLICATE && written[i - first].msgId <= committedBefore)
			{
				results[i] = written[i - first];
				continue;
			}
			results[i] = AppendResult();
			results[i].outcome = failure.busy ? AppendResult::STORE_FULL : AppendResult::FAILED;
			results[i].error = "cannot write " + _name + ": " + failure.cause;
			++_refusedInEpisode;
		}
		if (acks.empty()) return;
		if (last > first)
		{
			// Acknowledgements need no new space (they may free some).
			commitRange(appends, last, last, acks, now, results, failure);
			return;
		}
		bool retried = false;
		{
			Poco::FastMutex::ScopedLock lock(_queueMutex);
			// Retried with the next batch; if they cannot be kept, the
			// messages are simply delivered again.
			retried = !_stopping && _acks.size() + acks.size() <= MAX_RETRIED_ACKS;
			if (retried) _acks.insert(_acks.begin(), acks.begin(), acks.end());
		}
		if (!retried) forgetAcks(acks);
		return;
	}
	_metrics.commitSeconds.observe(static_cast<double>(started.elapsed()) / 1e6);
	_metrics.commitSize.observe(static_cast<double>(last - first + acks.size()));
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		++_statistics.commits;
		_statistics.storedMessages += stored;
	}
	forgetAcks(acks);
}


void DurableMessageStore::forgetAcks(const std::vector<QueuedAck>& acks)
{
	if (acks.empty()) return;
	Poco::ScopedWriteRWLock lock(_ackedLock);
	for (const auto& ack: acks)
	{
		if (ack.open) continue;
		auto it = _acked.find(positionKey(ack.uid, ack.device));
		if (it == _acked.end()) continue;
		Acked& acked = it->second;
		if (acked.queued > 0) --acked.queued;
		// Once its position is committed an entry is needed only for the
		// ids above it, and only while there is room.
		if (acked.queued == 0 && (acked.above.empty() || _acked.size() > MAX_ACKED_DEVICES)) _acked.erase(it);
	}
}


void DurableMessageStore::cleanupRun(Poco::Int64 atMs)
{
	// History keeps acknowledged messages for store.historyRetention;
	// without it they follow store.deliveredRetention as in protocol 1.0.
	const unsigned keep = _options.historyRetention > 0 ? _options.historyRetention : _options.deliveredRetention;
	const Poco::UInt64 acknowledgedCut = StoreWriter::msgIdAt(atMs - static_cast<Poco::Int64>(keep) * 1000);
	const Poco::UInt64 expiredCut = StoreWriter::msgIdAt(atMs - static_cast<Poco::Int64>(_options.retention) * 1000);
	std::size_t looked = 0;
	std::size_t expired = 0;
	try
	{
		// Expired messages first (every row of them goes), then the
		// acknowledged rows of the rest.
		for (std::size_t n = CLEANUP_CHUNK; n == CLEANUP_CHUNK;)
		{
			n = _pWriter->deleteExpired(expiredCut, CLEANUP_CHUNK);
			expired += n;
			writeQueued();
		}
		Poco::UInt64 next = expiredCut;
		for (std::size_t n = CLEANUP_CHUNK; n == CLEANUP_CHUNK && next < acknowledgedCut;)
		{
			n = _pWriter->deleteAcknowledged(acknowledgedCut, CLEANUP_CHUNK, next);
			looked += n;
			writeQueued();
		}
	}
	catch (Poco::Exception& exc)
	{
		_logger.warning("retention cleanup of %s stopped: %s (it runs again in %u s)",
			_name, _pDatabase->cause(exc), _options.cleanupInterval);
	}
	if (expired > 0)
	{
		_logger.warning("retention deleted %z messages older than %u s (store.retention), acknowledged or not",
			expired, _options.retention);
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		_statistics.expiredMessages += expired;
	}
	if (looked > 0)
		_logger.debug("retention looked at %z inbox rows older than %u s", looked, keep);
}


void DurableMessageStore::writeGroupChanges(std::vector<QueuedGroupChange>& changes)
{
	for (auto& queued: changes)
	{
		GroupResult result;
		try
		{
			_pWriter->changeGroup(queued.change, result);
		}
		catch (Poco::Exception& exc)
		{
			_pWriter->rollback();
			_metrics.failedCommits.add();
			result = GroupResult();
			result.outcome = _pDatabase->isFull(exc) || _pDatabase->isUnavailable(exc) ? GroupResult::STORE_FULL : GroupResult::FAILED;
			result.error = "cannot write " + _name + ": " + _pDatabase->cause(exc);
			_logger.error("group %s not changed: %s", queued.change.gid, result.error);
		}
		if (result.outcome == GroupResult::OK)
		{
			// The next sends to it are charged its new size at once.
			Poco::FastMutex::ScopedLock lock(_queueMutex);
			if (result.group.members.empty()) _groupSizes.erase(queued.change.gid);
			else rememberGroupSize(queued.change.gid, result.group.members.size());
		}
		queued.done(result);
	}
}


bool DurableMessageStore::writeQueued()
{
	// Also called between cleanup chunks, so retention never holds up sends.
	std::vector<QueuedAppend> appends;
	std::vector<QueuedAck> acks;
	std::vector<QueuedGroupChange> changes;
	Poco::UInt64 seq = 0;
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		if (_appends.empty() && _acks.empty() && _groupChanges.empty()) return false;
		// At most maxRowsPerCommit inbox rows (at least one send): a
		// burst of large group messages commits in steps, each answered
		// as it is durable, instead of one long transaction.
		std::size_t take = 0;
		std::size_t rows = 0;
		while (take < _appends.size() && (take == 0 || rows + _appends[take].rows <= _options.maxRowsPerCommit)) rows += _appends[take++].rows;
		if (take == _appends.size())
		{
			appends.swap(_appends);
			_queuedBytes = 0;
			seq = _queuedSeq;
		}
		else
		{
			appends.reserve(take);
			for (std::size_t i = 0; i < take; ++i)
			{
				_queuedBytes -= _appends[i].bytes;
				appends.push_back(std::move(_appends[i]));
			}
			_appends.erase(_appends.begin(), _appends.begin() + static_cast<std::ptrdiff_t>(take));
			seq = _appends.front().seq - 1; // everything before the first send left queued
		}
		acks.swap(_acks);
		changes.swap(_groupChanges);
	}
	if (!changes.empty()) writeGroupChanges(changes);
	if (!appends.empty() || !acks.empty()) writeBatch(appends, acks);
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	_writtenSeq = seq;
	_written.broadcast();
	return true;
}


void DurableMessageStore::flush()
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	const Poco::UInt64 target = _queuedSeq;
	if (_writtenSeq < target)
	{
		_flushWanted = true; // delayed acknowledgements too
		_queueReady.signal();
	}
	while (_started && _writtenSeq < target && _writerThread.isRunning())
	{
		_written.tryWait(_queueMutex, 100);
	}
}


void DurableMessageStore::cleanup(Poco::Int64 atMs)
{
	Poco::Event done;
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		if (_started && !_stopping)
		{
			_cleanupRequests.push_back(CleanupRequest{atMs, &done});
			_queueReady.signal();
		}
		else
		{
			done.set();
		}
	}
	done.wait();
}


DurableMessageStore::Statistics DurableMessageStore::statistics() const
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	return _statistics;
}


void DurableMessageStore::close()
{
	{
		Poco::FastMutex::ScopedLock lock(_queueMutex);
		if (_stopping) return;
		_stopping = true;
		_queueReady.signal();
	}
	// The writer commits what is queued before it stops.
	if (_writerThread.isRunning()) _writerThread.join();
	{
		Poco::FastMutex::ScopedLock lock(_readMutex);
		_readersStopping = true;
		_readReady.broadcast();
	}
	for (auto& pReader: _readers) pReader->join();
	Poco::FastMutex::ScopedLock lock(_countMutex);
	_readers.clear();
	_pWriter.reset();
	_pDatabase.reset();
}

} } // namespace imgate::store
