//
// WriterCaches.h
//
// Layer: store
// What a StoreWriter remembers between its statements to spare reads:
// group members, and recipients' pending counts.
//

#ifndef imgate_store_WriterCaches_INCLUDED
#define imgate_store_WriterCaches_INCLUDED

#include "server/store/MessageStore.h"
#include "Poco/Types.h"
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace imgate {
namespace store {

class WriterCaches
	/// One writer's caches (not thread-safe: the writer thread's own).
	///
	/// A pending count never falls short of the truth: appends add to it,
	/// an acknowledgement only marks it inexact (it may now be too high),
	/// and the writer reads an inexact count at the limit again before it
	/// refuses a send, so a full recipient costs no query per refused send.
	/// Group members are cached whole (sorted) until a change of the
	/// group, a rollback or a change by another node. Each cache forgets
	/// everything when it holds its maximum.
{
public:
	struct PendingCount
	{
		std::size_t count = 0;     /// Never below the true count.
		bool exact = false;        /// Read from the database, and no acknowledgement since.
		Poco::Int64 position = -1; /// What the writer read it under (PostgreSQL: the uid's highest position).
		Poco::Int64 readAtMs = 0;  /// When it was read (PostgreSQL: on a monotonic clock).
	};

	enum
	{
		MAX_COUNTS = 65536,
		MAX_GROUPS = 4096
	};

	template <class Read>
	const std::vector<std::string>* members(const std::string& gid, Read read)
		/// The cached members of gid; else those of read(gid, group),
		/// which returns false for no such group (null then), cached.
	{
		auto it = _members.find(gid);
		if (it != _members.end()) return &it->second;
		Group group;
		if (!read(gid, group)) return nullptr;
		if (_members.size() >= MAX_GROUPS) _members.clear();
		return &(_members[gid] = std::move(group.members));
	}

	void forgetGroup(const std::string& gid);
	void forgetGroups();

	const PendingCount* pending(const std::string& uid) const;
		/// The cached count of uid, or null.
	void remember(const std::string& uid, const PendingCount& count);
		/// A count read from the database.
	void makeRoom(std::size_t counts);
		/// Forgets every count unless counts more fit.
	void setCount(const std::string& uid, std::size_t count);
		/// An append made uid's count this (exact stays as it was).
	void addOne(const std::string& uid);
		/// A message was added to uid's inbox: its count, if cached, grows.
	void acknowledged(const std::string& uid);
		/// uid's position moved: its count, if cached, becomes inexact.
	void forgetCount(const std::string& uid);
	void forgetCounts();

	void clear();
		/// Both caches (after a rollback or a reconnect).

private:
	std::unordered_map<std::string, PendingCount> _counts;
	std::unordered_map<std::string, std::vector<std::string>> _members;
};

} } // namespace imgate::store

#endif // imgate_store_WriterCaches_INCLUDED
