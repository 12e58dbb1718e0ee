//
// SqliteMessageStore.cpp
//
// Layer: store
//

#include "server/store/SqliteMessageStore.h"
#include "Poco/Clock.h"
#include "server/store/SqliteDatabase.h"
#include "server/store/SqliteReader.h"
#include "server/store/SqliteWriter.h"
#include "Poco/File.h"
#include "Poco/Path.h"
#include "Poco/Timestamp.h"
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imgate {
namespace store {

namespace {

Poco::Int64 nowMs()
{
	return Poco::Timestamp().epochMicroseconds() / 1000;
}

} // namespace


class SqliteMessageStore::ReaderThread: public Poco::Runnable
{
public:
	ReaderThread(SqliteMessageStore& store, const std::string& path, int index):
		_store(store),
		_reader(path),
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
		_store.readerLoop(_reader);
	}

	SqliteReader& reader()
	{
		return _reader;
	}

private:
	SqliteMessageStore& _store;
	SqliteReader _reader;
	Poco::Thread _thread;
};


SqliteMessageStore::SqliteMessageStore(const Options& options):
	_options(options),
	_logger(Poco::Logger::get("imgate.store")),
	_writerThread("imgate-store-write")
{
	createFolder();
	_pLock.reset(new StoreLock(options.path));
	createDatabaseFile();
	SqliteWriter::Limits limits;
	limits.maxPendingPerRecipient = options.maxPendingPerRecipient;
	// Without history, acknowledged rows follow store.deliveredRetention
	// (0: deleted at once) and nobody reads a sender's own rows.
	limits.deleteOnAcknowledge = options.historyRetention == 0 && options.deliveredRetention == 0;
	limits.recordSent = options.historyRetention > 0 || options.devices;
	_pWriter.reset(new SqliteWriter(options.path, options.fullSync, options.maxDatabaseBytes, limits));
	// One more connection than reader threads: pendingCount() uses it on
	// the caller's thread.
	const unsigned readers = options.readThreads ? options.readThreads : 1;
	for (unsigned i = 0; i <= readers; ++i)
	{
		_readers.emplace_back(new ReaderThread(*this, options.path, static_cast<int>(i)));
	}
}


void SqliteMessageStore::createFolder()
{
	// Message payloads are private: every folder created here is 0750,
	// whatever the umask (which could only narrow it).
	std::string dir = Poco::Path(_options.path).parent().toString();
	while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
	if (dir.empty()) dir = ".";
	std::vector<std::string> missing;
	for (;;)
	{
		struct stat st;
		if (::stat(dir.c_str(), &st) == 0)
		{
			if (!S_ISDIR(st.st_mode))
				throw StoreException(_options.path + ": cannot create its folder: " + dir + " is not a directory");
			if (missing.empty()) warnIfOpen(dir, st.st_mode, "folder");
			break;
		}
		missing.push_back(dir);
		const std::size_t slash = dir.rfind('/');
		if (slash == std::string::npos) break; // relative: its first part is created in the working folder
		dir = slash == 0 ? std::string("/") : dir.substr(0, slash);
	}
	for (auto it = missing.rbegin(); it != missing.rend(); ++it)
	{
		if (::mkdir(it->c_str(), 0750) != 0 && errno != EEXIST)
			throw StoreException(_options.path + ": cannot create its folder " + *it + ": " + std::strerror(errno));
		::chmod(it->c_str(), 0750);
		_logger.information("created %s (mode 0750)", *it);
	}
}


void SqliteMessageStore::createDatabaseFile()
{
	// SQLite would create the file 0644 less the umask, readable by every
	// local user; an empty file is a valid new database, and its -wal and
	// -shm files take its mode.
	const int fd = ::open(_options.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd >= 0)
	{
		::fchmod(fd, 0640);
		::close(fd);
		return;
	}
	struct stat st;
	if (errno == EEXIST && ::stat(_options.path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
		warnIfOpen(_options.path, st.st_mode, "database");
	// Any other failure: the writer's open names it.
}


void SqliteMessageStore::warnIfOpen(const std::string& path, unsigned mode, const char* what)
{
	if ((mode & 0007) == 0) return;
	char octal[8];
	std::snprintf(octal, sizeof(octal), "%04o", mode & 07777);
	_logger.warning("%s: the store's %s is open to other local users (mode %s): chmod o-rwx %s",
		path, std::string(what), std::string(octal), path);
}


SqliteMessageStore::~SqliteMessageStore()
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


void SqliteMessageStore::start()
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	if (_started || _stopping) return;
	_started = true;
	_writerThread.start(*this);
	for (std::size_t i = 1; i < _readers.size(); ++i) _readers[i]->start();
}


std::string SqliteMessageStore::describe() const
{
	return "sqlite " + _options.path + " (WAL, sync=" + (_options.fullSync ? "full" : "normal") + ", group commit)";
}


std::size_t SqliteMessageStore::cost(const NewMessage& message)
{
	return message.payload.size() + message.fromUid.size() + message.toUid.size() + sizeof(QueuedAppend);
}


void SqliteMessageStore::append(NewMessage message, AppendCallback done)
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


void SqliteMessageStore::openDevice(const std::string& uid, const std::string& device)
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	if (!_started || _stopping) return;
	QueuedAck open{uid, device, 0};
	open.open = true;
	queueAck(std::move(open));
	_queueReady.signal();
}


void SqliteMessageStore::queueAck(QueuedAck&& ack)
{
	if (_acks.empty()) _acksSince.update();
	_acks.push_back(std::move(ack));
	++_queuedSeq;
}


void SqliteMessageStore::acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds)
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


void SqliteMessageStore::queueRead(ReadTask task)
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


void SqliteMessageStore::readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done)
{
	auto pRequest = std::make_shared<ReadRequest>(ReadRequest{reader, afterMsgId, limit, std::move(done)});
	queueRead([this, pRequest](SqliteReader* pReader)
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


void SqliteMessageStore::readHistory(const HistoryQuery& query, HistoryCallback done)
{
	auto pDone = std::make_shared<HistoryCallback>(std::move(done));
	queueRead([this, query, pDone](SqliteReader* pReader)
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


void SqliteMessageStore::serveHistory(SqliteReader& reader, const HistoryQuery& query, HistoryCallback& done)
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
		_logger.error("cannot read %s: %s", _options.path, SqliteDatabase::cause(exc));
	}
	done(std::move(page));
}


void SqliteMessageStore::changeGroup(const GroupChange& change, GroupCallback done)
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


bool SqliteMessageStore::findGroup(const std::string& gid, Group& group)
{
	Poco::FastMutex::ScopedLock lock(_countMutex);
	if (_readers.empty()) throw StoreException(_options.path + ": the store is closed");
	return _readers.front()->reader().findGroup(gid, group);
}


void SqliteMessageStore::readGroup(const std::string& gid, FindGroupCallback done)
{
	auto pDone = std::make_shared<FindGroupCallback>(std::move(done));
	queueRead([this, gid, pDone](SqliteReader* pReader)
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
				_logger.error("cannot read %s: %s", _options.path, SqliteDatabase::cause(exc));
			}
		}
		(*pDone)(ok, found, group);
	});
}


std::vector<std::string> SqliteMessageStore::listGroups(const std::string& prefix, std::size_t limit, bool& truncated)
{
	Poco::FastMutex::ScopedLock lock(_countMutex);
	if (_readers.empty()) throw StoreException(_options.path + ": the store is closed");
	return _readers.front()->reader().listGroups(prefix, limit, truncated);
}


void SqliteMessageStore::readerLoop(SqliteReader& reader)
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


void SqliteMessageStore::serveRead(SqliteReader& reader, ReadRequest& request)
{
	PendingPage page;
	try
	{
		Poco::ScopedReadRWLock lock(_ackedLock);
		auto acked = _acked.find(positionKey(request.inbox.uid, request.inbox.device));
		const bool known = acked != _acked.end();
		const std::size_t skip = known ? acked->second.above.size() : 0;
		const Poco::UInt64 after = known && acked->second.position > request.afterMsgId ? acked->second.position : request.afterMsgId;
		reader.pending(request.inbox, after, request.limit + skip, page.messages);
		if (skip)
		{
			const auto& ids = acked->second.above;
			page.messages.erase(std::remove_if(page.messages.begin(), page.messages.end(),
				[&ids](const StoredMessage& m) { return ids.count(m.msgId) > 0; }), page.messages.end());
		}
		if (page.messages.size() > request.limit) page.messages.resize(request.limit);
	}
	catch (Poco::Exception& exc)
	{
		page.ok = false;
		page.messages.clear();
		_logger.error("cannot read %s: %s", _options.path, SqliteDatabase::cause(exc));
	}
	request.done(std::move(page));
}


const StoreMetrics* SqliteMessageStore::metrics() const
{
	return &_metrics;
}


bool SqliteMessageStore::writable(std::string& why) const
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	why = _failureCause;
	return _failureCause.empty();
}


std::size_t SqliteMessageStore::pendingCount(const std::string& uid)
{
	// _readers[0] has no thread; its connection serves callers in turn.
	Poco::FastMutex::ScopedLock lock(_countMutex);
	if (_readers.empty()) throw StoreException(_options.path + ": the store is closed");
	return _readers.front()->reader().pendingCount(uid);
}


void SqliteMessageStore::run()
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


void SqliteMessageStore::probeWrite()
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
		_failureCause = "cannot write " + _options.path + ": " + SqliteDatabase::cause(exc);
		return;
	}
	_logger.notice("writing %s again after %Lu failed batches (%Lu sends refused)", _options.path, _failuresInEpisode, _refusedInEpisode);
	_failuresInEpisode = 0;
	_refusedInEpisode = 0;
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	_failureCause.clear();
}


void SqliteMessageStore::writeBatch(std::vector<QueuedAppend>& appends, std::vector<QueuedAck>& acks)
{
	std::vector<AppendResult> results(appends.size());
	Failure failure;
	commitRange(appends, 0, appends.size(), acks, nowMs(), results, failure);
	if (failure.happened)
	{
		{
			Poco::FastMutex::ScopedLock lock(_queueMutex);
			_failureCause = "cannot write " + _options.path + ": " + failure.cause;
		}
		if (_failuresInEpisode++ == 0)
		{
			_logger.error("cannot write %s: %s; sends are refused with %s until writes succeed again",
				_options.path, failure.cause, std::string(failure.full ? "SERVER_BUSY" : "INTERNAL"));
		}
	}
	else if (_failuresInEpisode > 0)
	{
		_logger.notice("writing %s again after %Lu failed batches (%Lu sends refused)",
			_options.path, _failuresInEpisode, _refusedInEpisode);
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


bool SqliteMessageStore::announcesStored() const
{
	return true;
}


void SqliteMessageStore::announceStored(NewMessage& message, const AppendResult& result)
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


void SqliteMessageStore::rememberGroupSizes(const std::vector<QueuedAppend>& appends, const std::vector<AppendResult>& results)
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


void SqliteMessageStore::rememberGroupSize(const std::string& gid, std::size_t members)
{
	if (_groupSizes.size() >= MAX_KNOWN_GROUP_SIZES && !_groupSizes.count(gid)) _groupSizes.clear();
	_groupSizes[gid] = members;
}


void SqliteMessageStore::commitRange(std::vector<QueuedAppend>& appends, std::size_t first, std::size_t last,
	std::vector<QueuedAck>& acks, Poco::Int64 now, std::vector<AppendResult>& results, Failure& failure)
{
	const Poco::UInt64 committedBefore = _pWriter->lastMsgId();
	Poco::UInt64 stored = 0;
	const Poco::Clock started;
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
		for (std::size_t i = first; i < last; ++i)
		{
			results[i] = AppendResult();
			_pWriter->append(appends[i].message, now, results[i]);
			if (results[i].outcome == AppendResult::STORED) ++stored;
		}
		_pWriter->commit();
	}
	catch (Poco::Exception& exc)
	{
		_pWriter->rollback();
		_metrics.failedCommits.add();
		const bool full = SqliteDatabase::isFull(exc);
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
		failure.full = full;
		failure.cause = SqliteDatabase::cause(exc);
		for (std::size_t i = first; i < last; ++i)
		{
			// A resend of a message committed earlier still gets its msg_id.
			if (results[i].outcome == AppendResult::DUPLICATE && results[i].msgId <= committedBefore) continue;
			results[i] = AppendResult();
			results[i].outcome = full ? AppendResult::STORE_FULL : AppendResult::FAILED;
			results[i].error = "cannot write " + _options.path + ": " + failure.cause;
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


void SqliteMessageStore::forgetAcks(const std::vector<QueuedAck>& acks)
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


void SqliteMessageStore::cleanupRun(Poco::Int64 atMs)
{
	// History keeps acknowledged messages for store.historyRetention;
	// without it they follow store.deliveredRetention as in protocol 1.0.
	const unsigned keep = _options.historyRetention > 0 ? _options.historyRetention : _options.deliveredRetention;
	const Poco::UInt64 acknowledgedCut = SqliteWriter::msgIdAt(atMs - static_cast<Poco::Int64>(keep) * 1000);
	const Poco::UInt64 expiredCut = SqliteWriter::msgIdAt(atMs - static_cast<Poco::Int64>(_options.retention) * 1000);
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
			_options.path, SqliteDatabase::cause(exc), _options.cleanupInterval);
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


void SqliteMessageStore::writeGroupChanges(std::vector<QueuedGroupChange>& changes)
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
			result.outcome = SqliteDatabase::isFull(exc) ? GroupResult::STORE_FULL : GroupResult::FAILED;
			result.error = "cannot write " + _options.path + ": " + SqliteDatabase::cause(exc);
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


bool SqliteMessageStore::writeQueued()
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


void SqliteMessageStore::flush()
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


void SqliteMessageStore::cleanup(Poco::Int64 atMs)
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


SqliteMessageStore::Statistics SqliteMessageStore::statistics() const
{
	Poco::FastMutex::ScopedLock lock(_queueMutex);
	return _statistics;
}


void SqliteMessageStore::close()
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
	_pLock.reset();
}

} } // namespace imgate::store
