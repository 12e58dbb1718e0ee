//
// StoreReader.h
//
// Layer: store
// One reading connection of the durable store, as DurableMessageStore's
// reader threads use it.
//

#ifndef imgate_store_StoreReader_INCLUDED
#define imgate_store_StoreReader_INCLUDED

#include "server/store/MessageStore.h"
#include <string>
#include <vector>

namespace imgate {
namespace store {

class StoreReader
	/// Used by one thread at a time. Each read sees one snapshot: every
	/// transaction committed before it began, never a partial one.
	/// Implementations: SqliteReader, PostgresReader. Every member throws
	/// Poco::Exception on a database error.
{
public:
	virtual ~StoreReader();

	virtual void pending(const InboxReader& inbox, Poco::UInt64 afterMsgId, std::size_t limit, std::vector<StoredMessage>& messages) = 0;
		/// Appends the messages of inbox.uid's inbox with msgId above
		/// afterMsgId and above inbox.device's position (for a device
		/// without one, the highest of uid's devices), in msgId order, at
		/// most limit: those it received, and with carbons those it sent
		/// from other devices.

	virtual void history(const HistoryQuery& query, HistoryPage& page) = 0;
		/// Fills page (HISTORY): query.uid's inbox newest first, filtered,
		/// at most query.limit entries and query.maxBytes (historyBytes()),
		/// at least one.

	virtual bool findGroup(const std::string& gid, Group& group) = 0;
	virtual std::vector<std::string> listGroups(const std::string& prefix, std::size_t limit, bool& truncated) = 0;

	virtual std::size_t pendingCount(const std::string& uid) = 0;
		/// The messages uid receives above the highest position of its
		/// devices.

	static std::size_t historyBytes(const StoredMessage& message);
		/// What message adds to a HistoryResponse, at most.
};


inline std::size_t StoreReader::historyBytes(const StoredMessage& message)
{
	return message.payload.size() + message.fromUid.size() + message.toUid.size() + message.groupId.size() + HistoryQuery::ENTRY_OVERHEAD;
}

} } // namespace imgate::store

#endif // imgate_store_StoreReader_INCLUDED
