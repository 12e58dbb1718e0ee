//
// AdminConnectionTable.h
//
// Layer: admin
// The admin listener's open connections in the order they came, and who
// makes room for whom when there are too many: a new connection evicts
// the oldest one that has not sent its request, so silent or trickling
// clients can never lock /healthz out of a full table.
//

#ifndef imgate_admin_AdminConnectionTable_INCLUDED
#define imgate_admin_AdminConnectionTable_INCLUDED

#include "server/admin/AdminListenerCounters.h"
#include "server/net/EventLoop.h"
#include "server/net/PeerAddress.h"
#include "Poco/Bugcheck.h"
#include "Poco/Logger.h"
#include <arpa/inet.h>
#include <cstring>
#include <list>
#include <string>
#include <unordered_map>

namespace imgate {
namespace admin {

class AdminConnectionTable
	/// Loop thread only (the admin listener's loop); header-only.
	///
	/// Holds maxConnections entries, at most maxPerAddress of them from one
	/// address (addressKey(): an IPv4 address, an IPv6 /64). admit() makes
	/// room for a new connection before it is added: if its address has
	/// its share, that address's oldest evictable entry goes; then, if the
	/// table is full, the oldest evictable entry of all. Evictable, first
	/// to last: an entry whose answer is written and that only drains
	/// (LINGERING: the client has everything it will get), then one still
	/// sending its head (HEAD), then one sending a body (BODY: only an
	/// authorized POST gets there). An entry whose request is with an
	/// admin thread, or whose answer is still being written, is never
	/// evicted; if nothing can go, the new connection is refused (503).
	///
	/// Why the per-address share evicts instead of refusing: a health
	/// checker usually shares its address (127.0.0.1) with whatever else
	/// connects from the same host, so refusing at the share would lock it
	/// out just as a full table did. The share keeps one address from
	/// evicting everyone else's requests; eviction keeps every address,
	/// the flooder's included, able to get a new request through.
	///
	/// Evictions and refusals count in the AdminListenerCounters and are
	/// logged at most once a minute: the first at once, with the peer, then
	/// how many more in each minute, written with the first admission after
	/// it (or when the table goes away).
{
public:
	enum Rank
	{
		NEVER = 0,     /// Being answered: never evicted.
		BODY = 1,
		HEAD = 2,
		LINGERING = 3  /// Evicted first.
	};

	enum Admission
	{
		ADMITTED,
		REFUSED_ADDRESS_FULL,  /// Its address has its share, all being answered.
		REFUSED_TABLE_FULL     /// The table is full, every entry being answered.
	};

	class Entry
		/// What the table holds: an admin connection. Its owner adds it
		/// and must remove it before it is destroyed.
	{
	public:
		virtual Rank evictionRank() const = 0;

		virtual void evict() = 0;
			/// Closes the connection at once; remove()s the entry before it
			/// returns. Called only when evictionRank() is not NEVER.

		virtual std::string describe() const = 0;
			/// For the log: the peer and what it is doing.

	protected:
		virtual ~Entry() = default;

	private:
		friend class AdminConnectionTable;
		std::list<Entry*>::iterator _position;
		std::string _key;
		bool _listed = false;
	};

	AdminConnectionTable(std::size_t maxConnections, std::size_t maxPerAddress, AdminListenerCounters& counters);

	~AdminConnectionTable();
		/// Logs the count of the last minute, if any.

	Admission admit(const std::string& key, Poco::UInt32 now);
		/// Makes room for a new connection from key (addressKey()) at tick
		/// now, evicting as described above.

	void add(Entry& entry, const std::string& key);
		/// After admit(), even if it refused: the connection is open
		/// until its 503 is written.

	void remove(Entry& entry);
		/// Idempotent.

	std::size_t size() const;

	static std::string addressKey(const net::PeerAddress& peer);
		/// "203.0.113.7" (an IPv4-mapped address as its IPv4 one), or the
		/// IPv6 /64, "2001:db8:1:2::/64": one client often holds a whole /64.

private:
	enum Reason
	{
		TABLE_FULL,
		ADDRESS_LIMIT
	};

	Entry* victim(const std::string* pKey) const;
	void evict(Entry& victim, Reason reason, const std::string& key);
	void refuse(Reason reason, const std::string& key);
	void note(const std::string& first);
	void tally(Poco::UInt32 now);

	const std::size_t _maxConnections;
	const std::size_t _maxPerAddress;
	AdminListenerCounters& _counters;
	Poco::Logger& _logger;
	std::list<Entry*> _entries;                           /// Oldest first.
	std::unordered_map<std::string, std::size_t> _perAddress;
	Poco::UInt32 _now = 0;
	Poco::UInt32 _windowStart = 0;  /// Tick of the last line logged.
	bool _windowOpen = false;       /// A line was logged less than a minute ago.
	Poco::UInt64 _unloggedEvicted = 0;
	Poco::UInt64 _unloggedRefused = 0;
};


inline AdminConnectionTable::AdminConnectionTable(std::size_t maxConnections, std::size_t maxPerAddress, AdminListenerCounters& counters):
	_maxConnections(maxConnections),
	_maxPerAddress(maxPerAddress),
	_counters(counters),
	_logger(Poco::Logger::get("imgate.admin"))
{
}


inline AdminConnectionTable::~AdminConnectionTable()
{
	tally(_windowStart + net::EventLoop::ticksFromSeconds(60));
}


inline std::size_t AdminConnectionTable::size() const
{
	return _entries.size();
}


inline std::string AdminConnectionTable::addressKey(const net::PeerAddress& peer)
{
	std::string host = peer.host();
	if (host.compare(0, 7, "::ffff:") == 0 && host.find('.') != std::string::npos) return host.substr(7);
	if (host.find(':') == std::string::npos) return host;
	in6_addr address;
	if (::inet_pton(AF_INET6, host.c_str(), &address) != 1) return host;
	std::memset(address.s6_addr + 8, 0, 8);
	char text[INET6_ADDRSTRLEN];
	if (!::inet_ntop(AF_INET6, &address, text, sizeof(text))) return host;
	return std::string(text) + "/64";
}


inline AdminConnectionTable::Admission AdminConnectionTable::admit(const std::string& key, Poco::UInt32 now)
{
	_now = now;
	tally(now);
	auto it = _perAddress.find(key);
	if (it != _perAddress.end() && it->second >= _maxPerAddress)
	{
		Entry* pVictim = victim(&key);
		if (!pVictim)
		{
			refuse(ADDRESS_LIMIT, key);
			return REFUSED_ADDRESS_FULL;
		}
		evict(*pVictim, ADDRESS_LIMIT, key);
	}
	if (_entries.size() >= _maxConnections)
	{
		Entry* pVictim = victim(nullptr);
		if (!pVictim)
		{
			refuse(TABLE_FULL, key);
			return REFUSED_TABLE_FULL;
		}
		evict(*pVictim, TABLE_FULL, key);
	}
	return ADMITTED;
}


inline void AdminConnectionTable::add(Entry& entry, const std::string& key)
{
	poco_assert (!entry._listed);
	entry._key = key;
	entry._position = _entries.insert(_entries.end(), &entry);
	entry._listed = true;
	++_perAddress[key];
	_counters.open.set(static_cast<Poco::Int64>(_entries.size()));
}


inline void AdminConnectionTable::remove(Entry& entry)
{
	if (!entry._listed) return;
	_entries.erase(entry._position);
	entry._listed = false;
	auto it = _perAddress.find(entry._key);
	if (it != _perAddress.end() && --it->second == 0) _perAddress.erase(it);
	_counters.open.set(static_cast<Poco::Int64>(_entries.size()));
}


inline AdminConnectionTable::Entry* AdminConnectionTable::victim(const std::string* pKey) const
{
	// The oldest of the highest rank. At most maxConnections entries, and
	// only when the table or an address is full: a scan is cheap enough.
	Entry* pBest = nullptr;
	Rank best = NEVER;
	for (Entry* pEntry: _entries)
	{
		if (pKey && pEntry->_key != *pKey) continue;
		const Rank rank = pEntry->evictionRank();
		if (rank > best)
		{
			pBest = pEntry;
			best = rank;
			if (rank == LINGERING) break;
		}
	}
	return pBest;
}


inline void AdminConnectionTable::evict(Entry& victim, Reason reason, const std::string& key)
{
	const std::string what = victim.describe();
	const std::size_t before = _entries.size();
	victim.evict();
	poco_assert (_entries.size() < before);
	if (reason == TABLE_FULL) _counters.evictedTableFull.add();
	else _counters.evictedAddressLimit.add();
	if (_windowOpen)
	{
		++_unloggedEvicted;
		return;
	}
	note("admin: evicted " + what + " to make room for a new connection from " + key + ": "
		+ (reason == TABLE_FULL ? std::to_string(_maxConnections) + " admin connections were open, the most"
			: std::to_string(_maxPerAddress) + " were open from " + key + ", the most from one address")
		+ " (further evictions are logged once a minute)");
}


inline void AdminConnectionTable::refuse(Reason reason, const std::string& key)
{
	_counters.refused.add();
	if (_windowOpen)
	{
		++_unloggedRefused;
		return;
	}
	note("admin: refused a new connection from " + key + " with 503: "
		+ (reason == TABLE_FULL ? std::to_string(_maxConnections) + " admin connections were open"
			: std::to_string(_maxPerAddress) + " were open from " + key)
		+ ", each being answered (further refusals are logged once a minute)");
}


inline void AdminConnectionTable::note(const std::string& first)
{
	_logger.warning(first);
	_windowOpen = true;
	_windowStart = _now;
}


inline void AdminConnectionTable::tally(Poco::UInt32 now)
{
	if (!_windowOpen || static_cast<Poco::Int32>(now - _windowStart) < static_cast<Poco::Int32>(net::EventLoop::ticksFromSeconds(60))) return;
	if (_unloggedEvicted == 0 && _unloggedRefused == 0)
	{
		_windowOpen = false; // a quiet minute: the next one is logged at once
		return;
	}
	_logger.warning("admin: %Lu more connections evicted and %Lu refused to make room since the line before (at most %z admin connections, %z from one address)",
		_unloggedEvicted, _unloggedRefused, _maxConnections, _maxPerAddress);
	_unloggedEvicted = _unloggedRefused = 0;
	_windowStart = now;
}

} } // namespace imgate::admin

#endif // imgate_admin_AdminConnectionTable_INCLUDED
