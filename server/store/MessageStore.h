//
// MessageStore.h
//
// Layer: store
// Where accepted messages live until their recipient acknowledges them.
// The session layer sees only this interface; implementations:
// SqliteMessageStore (durable, the default) and MemoryMessageStore.
//

#ifndef imgate_store_MessageStore_INCLUDED
#define imgate_store_MessageStore_INCLUDED

#include "server/metrics/Counter.h"
#include "server/metrics/Histogram.h"
#include "Poco/Exception.h"
#include "Poco/Types.h"
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace store {

struct NewMessage
	/// A message as the sender submitted it: to one uid or to a group.
{
	std::string fromUid;
	std::string fromDevice; /// The sending device's position key ("" under session.devicePolicy = single).
	std::string toUid;      /// Exactly one of toUid and toGroup is set.
	std::string toGroup;
	Poco::UInt64 clientMsgId = 0;
	std::string payload;
	Poco::Int64 timestampMs = 0;
};


struct StoredMessage
	/// A message in a uid's inbox.
{
	Poco::UInt64 msgId = 0;
	std::string fromUid;
	std::string fromDevice; /// The device that sent it.
	std::string toUid;      /// The recipient of a 1:1 message ("" for a group message).
	std::string groupId;    /// The group of a group message ("" for a 1:1 message).
	std::string payload;
	Poco::Int64 timestampMs = 0;
	bool sent = false;      /// In the reader's inbox as a message its uid sent (a carbon), not one it received.
};


struct InboxReader
	/// Who reads an inbox: a uid's device, with or without carbons.
{
	std::string uid;
	std::string device;   /// Position key ("" under session.devicePolicy = single).
	bool carbons = false; /// Also the messages the uid sent from other devices.
};


struct PendingPage
	/// The answer to readPending().
{
	bool ok = true;            /// False if the store could not read (it logs why); try again later.
	std::vector<StoredMessage> messages;
};


struct HistoryQuery
	/// HISTORY (protocol 1.1, section 6).
{
	std::string uid;
	Poco::UInt64 beforeMsgId = 0; /// 0: from the newest.
	std::size_t limit = 50;       /// At most this many messages (1 to 200).
	std::size_t maxBytes = 0;     /// And no more payload and uid bytes than this (the frame's room); at least one message fits.
	std::string withUid;          /// Only the 1:1 conversation with this uid...
	std::string groupId;          /// ... or only this group's messages (at most one of the two).
	Poco::Int64 sinceMs = 0;      /// Only messages sent at or after this time (store.historyRetention).

	static constexpr std::size_t ENTRY_OVERHEAD = 48;
		/// Protobuf tags, lengths and numbers of one MessageDeliver in a
		/// HistoryResponse, at most: what an entry adds to maxBytes beside
		/// its payload and uids (both stores count the same).
};


std::string positionKey(const std::string& uid, const std::string& device);
	/// One string for (uid, device), "uid\0device": a key for maps of
	/// positions and of senders' client_msg_ids (no uid holds a 0 byte).


struct HistoryPage
	/// The answer to readHistory().
{
	bool ok = true;         /// False if the store could not read (it logs why).
	bool notMember = false; /// groupId was set and uid is not a member of it now (or it does not exist).
	std::vector<StoredMessage> messages; /// Newest first, in uid's inbox (received and sent).
	bool more = false;      /// Older ones exist.
};


struct Group
{
	std::string gid;
	std::vector<std::string> members; /// Sorted, no duplicates.
	Poco::Int64 createdMs = 0;
};


struct GroupChange
	/// One change to a group, applied in the order of messages: a message
	/// accepted after the change's callback has run sees the new members.
{
	enum Kind
	{
		PUT,     /// Create gid, or replace its members (created time kept).
		MODIFY,  /// Add and remove members of an existing group.
		REMOVE   /// Delete the group.
	};

	Kind kind = PUT;
	std::string gid;
	std::vector<std::string> members; /// PUT
	std::vector<std::string> add;     /// MODIFY
	std::vector<std::string> remove;  /// MODIFY (applied after add)
	std::size_t maxMembers = 1000;    /// A result above this is TOO_MANY_MEMBERS and changes nothing.
	Poco::Int64 nowMs = 0;            /// created time of a new group.

	std::vector<std::string> membersAfter(const std::vector<std::string>& before) const;
		/// The members (sorted, no duplicates) once this PUT or MODIFY
		/// applies to a group with the members before (none if it is new).

	std::string tooManyMembers(std::size_t count) const;
		/// The error of a result of count members above maxMembers.
};


struct GroupResult
{
	enum Outcome
	{
		OK,
		NOT_FOUND,         /// MODIFY or REMOVE of a group that does not exist.
		TOO_MANY_MEMBERS,  /// The result would have more than maxMembers.
		STORE_FULL,        /// As for appends.
		FAILED             /// error says why.
	};

	Outcome outcome = FAILED;
	Group group;           /// After the change (OK; empty after REMOVE).
	std::string error;
};


struct AppendResult
{
	enum Outcome
	{
		STORED,          /// Newly stored under msgId.
		DUPLICATE,       /// (fromUid, clientMsgId) was stored before as msgId; not stored again.
		RECIPIENT_FULL,  /// The recipient of a 1:1 message has too many pending messages.
		NOT_MEMBER,      /// toGroup does not exist, or the sender is not a member of it.
		STORE_FULL,      /// The store as a whole is full (memory limit, disk or database size limit, write queue): retry later.
		FAILED           /// The store could not write (I/O error); error says why.
	};

	Outcome outcome = FAILED;
	Poco::UInt64 msgId = 0;
	Poco::Int64 timestampMs = 0;
	std::string error;
	std::vector<std::string> members; /// STORED group message: the members it went to (the sender included), for the fan-out.
};


struct StoreMetrics
	/// What a store that commits to disk reports (GET /metrics). Written by
	/// its writer thread, read by any.
{
	StoreMetrics();

	metrics::Histogram commitSeconds;  /// From BEGIN until COMMIT returned (the fsync included).
	metrics::Histogram commitSize;     /// Sends plus acknowledgements in each successful commit.
	metrics::Counter failedCommits;    /// Rolled back (disk full, I/O error), the probes made while writes fail included.
};


class StoreListener
	/// Hears of every message as it is stored, so that the sessions online
	/// can deliver it without reading it back (the session layer's
	/// SessionManager).
{
public:
	virtual ~StoreListener();

	virtual void stored(const std::shared_ptr<const StoredMessage>& pMessage, const std::vector<std::string>& members) = 0;
		/// pMessage (sent false) now has rows in inboxes: toUid's, or those of
		/// members (its group's members, the sender included, as the append
		/// read them), and its sender's "sent" row where the store keeps one.
		/// Once per stored message, before the append's callback, on the
		/// appending thread (durable store: its writer, after the commit).
		///
		/// Order: the calls for the messages of any one inbox are made one
		/// after another in msgId order, never at once; so tasks they post
		/// to one event loop's queue arrive there in msgId order. A call may
		/// come while a store lock is held: it must not call the store, and
		/// must not run session code inline (post it).
};


class MessageStore
	/// Thread-safe: every member may be called from any loop.
	///
	/// Ordering contract: msgIds are unique in the store and, for each
	/// recipient, increase in the order appends complete; readPending()
	/// returns a recipient's messages in msgId order. So once a message with
	/// msgId N is visible to readPending(), no message with a smaller id can appear
	/// later for that recipient.
	///
	/// Model (protocol 1.1, docs/architecture.md): each uid has an inbox,
	/// the messages it receives in msgId order, and each of its devices a
	/// position: every message of the inbox up to it is acknowledged by
	/// that device. Under session.devicePolicy = single a uid has one
	/// device, "".
{
public:
	using AppendCallback = std::function<void(const AppendResult&)>;
	using PendingCallback = std::function<void(PendingPage&& page)>;
	using HistoryCallback = std::function<void(HistoryPage&& page)>;
	using GroupCallback = std::function<void(const GroupResult&)>;

	virtual ~MessageStore();

	virtual void start();
		/// Starts the store's threads, if it has any; called once, before
		/// the loops start. Default: nothing.

	virtual void append(NewMessage message, AppendCallback done) = 0;
		/// Stores message, or finds that (fromUid, fromDevice, clientMsgId)
		/// was stored already (idempotent resend: done gets DUPLICATE and
		/// the original msgId and timestamp). A 1:1 message gets a row in
		/// the recipient's inbox; a group message one in each member's
		/// inbox, the members read in the same transaction (NOT_MEMBER if
		/// the group is unknown or the sender not in it). With history (or
		/// devices) the sender's inbox gets a "sent" row too, unless it is
		/// the recipient. done runs exactly once, on any thread (possibly
		/// before append() returns), with no store lock held, after the
		/// message is as durable as the store promises. Where
		/// announcesStored(), a STORED message is announced to the listener
		/// (setListener()) before done runs.

	virtual void readPending(const InboxReader& reader, Poco::UInt64 afterMsgId, std::size_t limit, PendingCallback done) = 0;
		/// Reads at most limit messages of reader.uid's inbox that
		/// reader.device has not acknowledged, with msgId > afterMsgId, in
		/// msgId order; never loads more than limit. Rows of messages the
		/// uid sent are left out, but with carbons those sent from other
		/// devices. A device without a position yet starts at the highest
		/// position of the uid's other devices (0 if none). done
		/// runs exactly once, on any thread (possibly before readPending()
		/// returns), with no store lock held. The caller's thread never
		/// waits for the disk: the durable store reads on its own threads.

	virtual void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position, const std::vector<Poco::UInt64>& msgIds) = 0;
		/// device has acknowledged every message of uid's inbox up to
		/// position (a position never moves back), and msgIds, which may lie
		/// above it. Never waits for the disk: the durable store records
		/// the position with its next commit, but readPending() leaves
		/// position and msgIds out for reads issued after this call. If the
		/// server stops before that commit, they are delivered again
		/// (at-least-once); so are msgIds above the position after a
		/// restart.

	virtual void openDevice(const std::string& uid, const std::string& device);
		/// A device logs in: if it has no position yet, it gets the highest
		/// position of the uid's other devices (0 if none), so it starts
		/// after what they acknowledged before its first login, not after
		/// what they acknowledge later. Never waits for the disk (queued
		/// like an acknowledgement). Default: nothing (a store whose reads
		/// already give a device without a position that start).

	virtual void readHistory(const HistoryQuery& query, HistoryCallback done) = 0;
		/// Pages backwards through query.uid's inbox (section 6 of the
		/// protocol 1.1 contract). done runs exactly once, on any thread,
		/// with no store lock held; the caller never waits for the disk.

	virtual void changeGroup(const GroupChange& change, GroupCallback done) = 0;
		/// Applies change as durably as messages, in order with them. done
		/// runs exactly once, on any thread, with no store lock held.

	virtual bool findGroup(const std::string& gid, Group& group) = 0;
		/// Reads on the caller's thread (the admin API; not event loops).

	using FindGroupCallback = std::function<void(bool ok, bool found, const Group& group)>;
		/// ok: false if the store could not read (then found is false).

	virtual void readGroup(const std::string& gid, FindGroupCallback done);
		/// findGroup() without waiting (event loops): done runs exactly once,
		/// on any thread, with no store lock held. Default: findGroup() on
		/// the caller's thread (a store whose groups are in memory).

	virtual std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) = 0;
		/// Gids starting with prefix, sorted, at most limit; truncated if
		/// more exist. The caller's thread (not event loops).

	virtual std::size_t pendingCount(const std::string& uid) = 0;
		/// Messages uid receives that no device of uid has acknowledged
		/// (above the highest position: a device that never comes back
		/// does not make its uid "full"), as of the last commit (an
		/// acknowledgement counts once it is committed). 1:1 messages to
		/// uid count against store.maxPendingPerRecipient by this number.

	virtual std::string describe() const = 0;
		/// One line for the start-up log ("memory (not durable)").

	virtual const StoreMetrics* metrics() const;
		/// The commit metrics, or null for a store that does not commit
		/// (default: null).

	virtual bool writable(std::string& why) const;
		/// False while writes fail (why: the cause, naming the file), for
		/// GET /readyz. Default: true.

	virtual void close();
		/// Finishes outstanding work; called once at shutdown, after the
		/// loops have stopped. Default: nothing.

	virtual bool announcesStored() const;
		/// Whether this store announces every message it stores to the
		/// listener. Default false: a store whose reads are inline and
		/// cheap (the memory store) gains nothing from it, and its
		/// recipients read what was stored; the durable store does, so
		/// that the sessions online need no read (a thread hop and a
		/// query) per message.

	void setListener(StoreListener* pListener);
		/// Who hears of stored messages (null: nobody), where
		/// announcesStored(). Set before start() and cleared only once no
		/// append is under way (after close(), or before start()).

protected:
	void announce(const std::shared_ptr<const StoredMessage>& pMessage, const std::vector<std::string>& members);
		/// Tells the listener, if there is one.

	bool announcing() const;
		/// A listener is set: worth building its StoredMessage.

private:
	std::atomic<StoreListener*> _pListener{nullptr};
};


inline bool MessageStore::announcing() const
{
	return _pListener.load(std::memory_order_acquire) != nullptr;
}


POCO_DECLARE_EXCEPTION(, StoreException, Poco::IOException)
	/// The store cannot be opened or used at start-up; the message names
	/// the file and the cause.

} } // namespace imgate::store

#endif // imgate_store_MessageStore_INCLUDED
