//
// BlacklistFilter.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/BlacklistFilter.h"
#include "plugins/blacklist/LogText.h"
#include "imgate/Address.h"
#include "imgate/Config.h"
#include "Poco/File.h"
#include "Poco/RunnableAdapter.h"
#include <fstream>
#include <limits>
#include <sstream>

namespace imgate {
namespace blacklist {

namespace {

const Poco::Int64 MICROS_PER_SECOND = 1000000;


bool readFile(const std::string& path, std::string& text, std::string& error)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
	{
		error = Poco::File(path).exists() ? "not readable" : "file not found";
		return false;
	}
	std::ostringstream ss;
	ss << in.rdbuf();
	text = ss.str();
	return true;
}

} // namespace


BlacklistFilter::BlacklistFilter():
	BlacklistFilter(Clock::monotonic())
{
}


BlacklistFilter::BlacklistFilter(const Clock& clock):
	_clock(clock),
	_logger(Poco::Logger::get("imgate.plugin.blacklist")),
	_pBans(std::make_shared<const BanList>()),
	_listedExpiry(std::numeric_limits<Poco::Int64>::max()),
	_pListed(std::make_shared<const BanList>()),
	_runnable(*this, &BlacklistFilter::run),
	_thread("imgate-blacklist"),
	_stop(false)
{
}


BlacklistFilter::~BlacklistFilter()
{
	stop();
}


void BlacklistFilter::initialize(const Poco::Util::AbstractConfiguration& config)
{
	_banFile.path = config.getString("file", "");
	_allowFile.path = config.getString("allowFile", "");
	_reloadInterval = static_cast<unsigned>(config::integer(config, "reloadInterval", 2, 1, 3600));
	_maxTemporaryBans = static_cast<std::size_t>(config::integer(config, "maxTemporaryBans", 100000, 0, 100000000));
	if (!_banFile.path.empty()) std::atomic_store(&_pBans, load(_banFile, true));
	if (!_allowFile.path.empty()) std::atomic_store(&_pAllow, load(_allowFile, true));
}


std::shared_ptr<const BanList> BlacklistFilter::load(WatchedFile& file, bool atStartup)
{
	std::string text, error;
	const std::string key = &file == &_banFile ? "file" : "allowFile";
	Poco::File f(file.path);
	if (!readFile(file.path, text, error))
	{
		if (atStartup) throw Poco::InvalidArgumentException(key + ": cannot read " + file.path + ": " + error);
		_logger.error("cannot read %s (%s): keeping the previous list in force", file.path, error);
		return nullptr;
	}
	try
	{
		file.modified = f.getLastModified();
		file.size = f.getSize();
		file.seen = true;
	}
	catch (Poco::Exception&)
	{
	}
	std::vector<std::string> errors, warnings;
	auto pList = std::make_shared<const BanList>(BanList::parse(text, file.path, errors, warnings,
		&file == &_allowFile ? BanList::ALLOWS : BanList::BANS));
	for (const auto& e: errors) _logger.warning("%s (line skipped)", e);
	for (const auto& w: warnings) _logger.warning("%s (in force)", w);
	_logger.information("%s: %z addresses/ranges and %z uids", file.path, pList->addressCount(), pList->uidCount());
	return pList;
}


void BlacklistFilter::start(Host& host)
{
	_pHost = &host;
	// Also without files: the thread prunes expired temporary bans.
	_stop.reset();
	_thread.start(_runnable);
}


void BlacklistFilter::stop()
{
	if (_thread.isRunning())
	{
		_stop.set();
		_thread.join();
	}
}


void BlacklistFilter::run()
{
	while (!_stop.tryWait(static_cast<long>(_reloadInterval) * 1000))
	{
		try
		{
			watch();
		}
		catch (std::exception& exc)
		{
			_logger.error("watcher: %s", std::string(exc.what()));
		}
	}
}


void BlacklistFilter::watch()
{
	checkFiles(false);
	pruneExpired();
	pruneListed();
}


bool BlacklistFilter::changed(WatchedFile& file)
{
	try
	{
		Poco::File f(file.path);
		if (!f.exists()) return file.seen; // vanished: report once through load()
		return !file.seen || f.getLastModified() != file.modified || f.getSize() != file.size;
	}
	catch (Poco::Exception&)
	{
		return true;
	}
}


void BlacklistFilter::reload()
{
	checkFiles(true);
}


void BlacklistFilter::checkFiles(bool force)
{
	Poco::FastMutex::ScopedLock lock(_filesMutex);
	if (!_banFile.path.empty() && (force || changed(_banFile)))
	{
		std::shared_ptr<const BanList> pNew = load(_banFile, false);
		if (pNew)
		{
			std::shared_ptr<const BanList> pOld = std::atomic_load(&_pBans);
			std::atomic_store(&_pBans, pNew);
			// A uid or address banned while online is kicked.
			for (const auto& uid: pNew->uids())
			{
				if (!pOld->bansUid(uid) && _pHost && _pHost->kickUid(uid, KickReason::BANNED, "banned"))
					_logger.information("kicked uid=%s: banned by %s", uid, _banFile.path);
			}
			if (_pHost && pNew->addressCount() > 0)
			{
				_pHost->kickAddresses([pNew, pOld](const std::string& address)
				{
					return pNew->bansAddress(address) && !pOld->bansAddress(address);
				}, KickReason::BANNED, "banned");
			}
		}
		else _banFile.seen = false; // retry until readable, log each time it fails
	}
	if (!_allowFile.path.empty() && (force || changed(_allowFile)))
	{
		std::shared_ptr<const BanList> pNew = load(_allowFile, false);
		if (pNew) std::atomic_store(&_pAllow, pNew);
		else _allowFile.seen = false;
	}
}


bool BlacklistFilter::temporarilyBanned(TemporaryBans& bans, const std::string& key)
{
	Poco::FastMutex::ScopedLock lock(_temporaryMutex);
	if (bans.empty()) return false;
	auto it = bans.find(key);
	if (it == bans.end()) return false;
	if (_clock.microseconds() < it->second.until) return true;
	bans.erase(it);
	return false;
}


void BlacklistFilter::pruneExpired()
{
	const Poco::Int64 now = _clock.microseconds();
	std::size_t expired = 0;
	std::size_t left = 0;
	{
		Poco::FastMutex::ScopedLock lock(_temporaryMutex);
		for (auto* pBans: {&_bannedAddresses, &_bannedUids})
		{
			for (auto it = pBans->begin(); it != pBans->end();)
			{
				if (it->second.until <= now)
				{
					it = pBans->erase(it);
					++expired;
				}
				else ++it;
			}
			left += pBans->size();
		}
	}
	// One line per watcher turn, however many: a flood's bans all expire
	// together.
	if (expired) _logger.information("temporary bans expired: %z (%z in force)", expired, left);
}


void BlacklistFilter::pruneListed()
{
	const Poco::Int64 now = _clock.microseconds();
	Poco::FastMutex::ScopedLock lock(_listedMutex);
	bool expired = false;
	for (auto it = _listed.begin(); it != _listed.end();)
	{
		if (!it->second.untilLifted && it->second.until <= now)
		{
			_logger.information("ban %s expired", it->first);
			it = _listed.erase(it);
			expired = true;
		}
		else ++it;
	}
	if (expired) rebuildListed();
}


void BlacklistFilter::expireListed()
{
	if (_clock.microseconds() >= _listedExpiry.load(std::memory_order_relaxed)) pruneListed();
}


Verdict BlacklistFilter::onAccept(const PeerInfo& peer)
{
	expireListed();
	std::shared_ptr<const BanList> pAllow = std::atomic_load(&_pAllow);
	if (pAllow && !pAllow->bansAddress(peer.address)) return Verdict::reject(Status::BANNED, "address not allowed");
	if (std::atomic_load(&_pBans)->bansAddress(peer.address) || std::atomic_load(&_pListed)->bansAddress(peer.address)
		|| temporarilyBanned(_bannedAddresses, addressBlock(peer.address)))
		return Verdict::reject(Status::BANNED, "address banned");
	return Verdict::proceed();
}


Verdict BlacklistFilter::onLogin(const LoginInfo& login, SessionSlot&)
{
	expireListed();
	if (std::atomic_load(&_pBans)->bansUid(login.uid) || std::atomic_load(&_pListed)->bansUid(login.uid)
		|| temporarilyBanned(_bannedUids, login.uid))
		return Verdict::reject(Status::BANNED, "uid banned");
	// An address banned after this connection was accepted.
	if (std::atomic_load(&_pListed)->bansAddress(login.peer.address) || temporarilyBanned(_bannedAddresses, addressBlock(login.peer.address)))
		return Verdict::reject(Status::BANNED, "address banned");
	return Verdict::proceed();
}


void BlacklistFilter::recordTemporary(TemporaryBans& bans, const std::string& key, const BanRequest& request, Poco::Int64 until)
{
	TemporaryBan& ban = bans[key];
	ban.until = until;
	ban.reason = request.reason;
	ban.origin = request.origin;
}


std::size_t BlacklistFilter::heldBans() const
{
	return _bannedAddresses.size() + _bannedUids.size() + _listed.size();
}


void BlacklistFilter::rebuildListed()
{
	std::string text;
	Poco::Int64 earliest = std::numeric_limits<Poco::Int64>::max();
	for (const auto& entry: _listed)
	{
		text += entry.first + "\n";
		if (!entry.second.untilLifted && entry.second.until < earliest) earliest = entry.second.until;
	}
	_listedExpiry.store(earliest, std::memory_order_relaxed);
	std::vector<std::string> errors;
	std::atomic_store(&_pListed, std::make_shared<const BanList>(BanList::parse(text, "admin bans", errors)));
}


BanStore* BlacklistFilter::banStore()
{
	return this;
}


bool BlacklistFilter::record(const BanRequest& request)
{
	// A single address with a duration goes to the per-block table (IPv6:
	// its /64, imgate/Address.h, so rotating addresses in it does not help);
	// a CIDR block or a ban until lifted (the admin API) becomes a ban-list
	// line, in the one spelling lift() and list() use. A uid with a
	// duration goes to the uid table.
	const bool addressListed = !request.address.empty() && (request.seconds == 0 || request.address.find('/') != std::string::npos);
	const bool uidListed = !request.uid.empty() && request.seconds == 0;
	AddressRange range;
	std::string addressLine;
	std::string block;
	if (addressListed)
	{
		std::string error;
		if (!AddressRange::parse(request.address, range, error))
		{
			_logger.warning("ban of address=%s from %s not recorded: %s", quoted(request.address), printable(request.origin), printable(error));
			return false;
		}
		addressLine = "ip " + range.toString();
	}
	else if (!request.address.empty())
	{
		if (!AddressRange::parsePeer(request.address, range))
		{
			_logger.warning("ban of address=%s from %s not recorded: not an IPv4 or IPv6 address", quoted(request.address), printable(request.origin));
			return false;
		}
		block = addressBlock(request.address);
	}
	// Monotonic: a wall-clock step neither lifts nor extends bans.
	const Poco::Int64 now = _clock.microseconds();
	const Poco::Int64 until = now + static_cast<Poco::Int64>(request.seconds) * MICROS_PER_SECOND;
	bool addressHeld = false; // already banned and in force: its sessions were kicked then
	bool uidHeld = false;
	{
		Poco::FastMutex::ScopedLock listedLock(_listedMutex);
		Poco::FastMutex::ScopedLock lock(_temporaryMutex);
		auto a = block.empty() ? _bannedAddresses.end() : _bannedAddresses.find(block);
		auto u = request.uid.empty() || uidListed ? _bannedUids.end() : _bannedUids.find(request.uid);
		const std::string uidLine = "uid " + request.uid;
		addressHeld = addressListed ? _listed.count(addressLine) > 0 : a != _bannedAddresses.end() && now < a->second.until;
		uidHeld = uidListed ? _listed.count(uidLine) > 0 : u != _bannedUids.end() && now < u->second.until;
		// Renewing a ban already held needs no room.
		const std::size_t added = (request.address.empty() || addressHeld || (!addressListed && a != _bannedAddresses.end()) ? 0 : 1)
			+ (request.uid.empty() || uidHeld || (!uidListed && u != _bannedUids.end()) ? 0 : 1);
		if (heldBans() + added > _maxTemporaryBans)
		{
			_logger.warning("ban table full (%z entries): ban of address=%s uid=%s not recorded", _maxTemporaryBans, printable(request.address), printable(request.uid));
			return false;
		}
		if (!block.empty()) recordTemporary(_bannedAddresses, block, request, until);
		if (!request.uid.empty() && !uidListed) recordTemporary(_bannedUids, request.uid, request, until);
		const std::string* lines[] = {addressListed ? &addressLine : nullptr, uidListed ? &uidLine : nullptr};
		for (const std::string* pLine: lines)
		{
			if (!pLine) continue;
			ListedBan& ban = _listed[*pLine];
			ban.untilLifted = request.seconds == 0;
			ban.until = until;
			ban.reason = request.reason;
			ban.origin = request.origin;
		}
		if (addressListed || uidListed) rebuildListed();
	}
	const std::string duration = request.seconds ? "for " + std::to_string(request.seconds) + " s" : std::string("until lifted");
	// The address is in its one spelling here; the uid, origin and reason
	// come from a plugin or the admin API: escaped, the reason quoted, so
	// none of them can end the line or pose as another field.
	_logger.information("%s address=%s uid=%s %s (%s: %s)", std::string(request.seconds ? "temporary ban" : "ban"),
		addressListed ? range.toString() : block, printable(request.uid), duration, printable(request.origin), quoted(request.reason));
	if (!_pHost) return true;
	if (!request.uid.empty() && !uidHeld) _pHost->kickUid(request.uid, KickReason::BANNED, "banned");
	if (!addressHeld && addressListed)
	{
		_pHost->kickAddresses([range](const std::string& address)
		{
			AddressRange peer;
			return AddressRange::parsePeer(address, peer) && range.contains(peer);
		}, KickReason::BANNED, "banned");
	}
	else if (!addressHeld && !block.empty())
		_pHost->kickAddresses([block](const std::string& address) { return addressBlock(address) == block; }, KickReason::BANNED, "banned");
	return true;
}


bool BlacklistFilter::lift(const BanRequest& request)
{
	// In the one spelling record() keeps ("::ffff:10.0.0.1" is 10.0.0.1).
	std::string address = request.address;
	AddressRange range;
	std::string error;
	if (!address.empty() && AddressRange::parse(address, range, error)) address = range.toString();
	bool lifted = false;
	{
		Poco::FastMutex::ScopedLock listedLock(_listedMutex);
		Poco::FastMutex::ScopedLock lock(_temporaryMutex);
		if (!address.empty())
		{
			lifted = _listed.erase("ip " + address) > 0 || lifted;
			// The temporary table is keyed by block: an address, or an IPv6
			// /64 as list() shows it.
			lifted = _bannedAddresses.erase(address) > 0 || lifted;
			if (address.find('/') == std::string::npos)
				lifted = _bannedAddresses.erase(addressBlock(address)) > 0 || lifted;
		}
		if (!request.uid.empty())
		{
			lifted = _listed.erase("uid " + request.uid) > 0 || lifted;
			lifted = _bannedUids.erase(request.uid) > 0 || lifted;
		}
		if (lifted) rebuildListed();
	}
	if (lifted) _logger.information("ban of address=%s uid=%s lifted (%s)", printable(address), printable(request.uid), printable(request.origin));
	return lifted;
}


void BlacklistFilter::list(const Visitor& visit) const
{
	const Poco::Int64 now = _clock.microseconds();
	auto left = [now](Poco::Int64 until)
	{
		// Whole seconds left, rounded up, at least 1 while in force.
		return static_cast<unsigned>((until - now + MICROS_PER_SECOND - 1) / MICROS_PER_SECOND);
	};
	std::vector<BanRequest> bans;
	{
		Poco::FastMutex::ScopedLock listedLock(_listedMutex);
		Poco::FastMutex::ScopedLock lock(_temporaryMutex);
		for (const auto& entry: _listed)
		{
			if (!entry.second.untilLifted && entry.second.until <= now) continue;
			BanRequest ban;
			const std::size_t space = entry.first.find(' ');
			(entry.first.compare(0, space, "ip") == 0 ? ban.address : ban.uid) = entry.first.substr(space + 1);
			ban.seconds = entry.second.untilLifted ? 0 : left(entry.second.until);
			ban.reason = entry.second.reason;
			ban.origin = entry.second.origin;
			bans.push_back(ban);
		}
		for (const TemporaryBans* pBans: {&_bannedAddresses, &_bannedUids})
		{
			for (const auto& entry: *pBans)
			{
				if (entry.second.until <= now) continue;
				BanRequest ban;
				(pBans == &_bannedAddresses ? ban.address : ban.uid) = entry.first;
				ban.seconds = left(entry.second.until);
				ban.reason = entry.second.reason;
				ban.origin = entry.second.origin;
				bans.push_back(ban);
			}
		}
	}
	// Outside the locks: visit may take its own.
	for (const BanRequest& ban: bans) visit(ban);
}

} } // namespace imgate::blacklist
