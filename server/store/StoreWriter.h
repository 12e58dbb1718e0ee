//
// StoreWriter.h
//
// Layer: store
// The durable store's one writing connection, as DurableMessageStore's
// writer thread uses it: appends, acknowledgements, group changes and
// retention deletes, each batch in one transaction.
//

#ifndef imgate_store_StoreWriter_INCLUDED
#define imgate_store_StoreWriter_INCLUDED

#include "server/store/MessageStore.h"
#include "Poco/Types.h"
#include <string>
#include <vector>

namespace imgate {
namespace store {

class StoreWriter
	/// Writer thread only. Implementations: SqliteWriter, PostgresWriter.
	///
	/// An append adds the message once and a row to its recipient's inbox
	/// (and, under recordSent, one to its sender's); an acknowledgement
	/// moves a position. msg_ids: max(last + 1, now_ms << 10). They increase
	/// with every append, never repeat, stay below 2^53, and encode their
	/// time, so retention deletes by primary-key range. Every member but
	/// rollback() and lastMsgId() throws Poco::Exception on a database
	/// error; the owning StoreDatabase classifies it (cause(), isFull(),
	/// isUnavailable()).
{
public:
	struct Limits
	{
		std::size_t maxPendingPerRecipient = 10000;
		bool deleteOnAcknowledge = false; /// Delete inbox rows once every device of their uid has acknowledged them.
		bool recordSent = true;           /// Add a row to the sender's inbox too (history, carbons).
	};

	virtual ~StoreWriter();

	virtual void begin() = 0;
		/// Starts a write transaction.

	virtual void append(const NewMessage& message, Poco::Int64 nowMs, AppendResult& result) = 0;
		/// Inside a transaction: result becomes DUPLICATE (with the first
		/// copy's msgId and timestamp), RECIPIENT_FULL, NOT_MEMBER, or
		/// STORED with a new msgId (durable only once commit() returns).

	virtual void appendAll(const std::vector<const NewMessage*>& messages, Poco::Int64 nowMs, std::vector<AppendResult>& results);
		/// append() of each message, in order: results[i] for messages[i]
		/// (results is resized). A writer to a server batches the round
		/// trips. Default: append() in a loop.

	virtual void acknowledge(const std::string& uid, const std::string& device, Poco::UInt64 position) = 0;
		/// Inside a transaction: moves device's position up to position
		/// (never down); under deleteOnAcknowledge, deletes the inbox rows
		/// every device of uid has acknowledged and the messages no inbox
		/// row refers to any more.

	virtual void openDevice(const std::string& uid, const std::string& device) = 0;
		/// Inside a transaction: gives device a position if it has none,
		/// the highest of uid's devices (0 if none).

	virtual void commit() = 0;
		/// Commits (durably, as the database is configured).

	virtual void changeGroup(const GroupChange& change, GroupResult& result) = 0;
		/// In a transaction of its own: applies change (result OK), or
		/// leaves everything as it was (NOT_FOUND, TOO_MANY_MEMBERS).
		/// Throws (then rollback()).

	virtual void probe(std::size_t bytes) = 0;
		/// Whether the database takes writes again: commits a row of bytes,
		/// then commits its deletion (reconnecting first where the
		/// database is a server). Throws (then rollback()).

	virtual void rollback() = 0;
		/// Abandons the transaction, if one is open, and what it did to the
		/// writer's own bookkeeping. Never throws.

	virtual std::size_t deleteAcknowledged(Poco::UInt64 belowMsgId, std::size_t limit, Poco::UInt64& next) = 0;
		/// In a transaction of its own: of the first limit inbox rows with
		/// next <= msgId < belowMsgId, deletes those every device of their
		/// uid has acknowledged, then the messages no row refers to any
		/// more. Returns how many rows it looked at (limit: more may
		/// follow), and sets next where the following call should start.

	virtual std::size_t deleteExpired(Poco::UInt64 belowMsgId, std::size_t limit) = 0;
		/// In a transaction of its own: deletes at most limit messages with
		/// msgId below belowMsgId, acknowledged or not (store.retention),
		/// and their inbox rows. Returns how many messages.

	virtual Poco::UInt64 lastMsgId() const = 0;
		/// The highest msgId this writer has issued (committed or in the
		/// open transaction).

	static Poco::UInt64 msgIdAt(Poco::Int64 unixMs);
		/// The smallest msgId issued at unixMs (unixMs << 10).
};


inline Poco::UInt64 StoreWriter::msgIdAt(Poco::Int64 unixMs)
{
	return unixMs > 0 ? static_cast<Poco::UInt64>(unixMs) << 10 : 0;
}

} } // namespace imgate::store

#endif // imgate_store_StoreWriter_INCLUDED
