//
// BlacklistFilter.cpp
//
// Plugin: blacklist
//

#include "plugins/blacklist/BlacklistFilter.h"
#include "imgate/Address.h"
#include "imgate/Config.h"
#include "imgate/Plugin.h"
#include "Poco/File.h"
#include "Poco/RunnableAdapter.h"
#include <fstream>
#include <sstream>

namespace imgate {
namespace blacklist {

namespace {

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
	_logger(Poco::Logger::get("imgate.plugin.blacklist")),
	_pBans(std::make_shared<const BanList>()),
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
	std::vector<std::string> errors;
	auto pList = std::make_shared<const BanList>(BanList::parse(text, file.path, errors));
	for (const auto& e: errors) _logger.warning("%s (line skipped)", e);
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
			checkFiles(false);
			pruneExpired();
		}
		catch (std::exception& exc)
		{
			_logger.error("watcher: %s", std::string(exc.what()));
		}
	}
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


bool BlacklistFilter::temporarilyBanned(std::unordered_map<std::string, Poco::Clock>& bans, const std::string& key)
{
	Poco::FastMutex::ScopedLock lock(_temporaryMutex);
	if (bans.empty()) return false;
	auto it = bans.find(key);
	if (it == bans.end()) return false;
	if (Poco::Clock() < it->second) return true;
	bans.erase(it);
	return false;
}


void BlacklistFilter::pruneExpired()
{
	Poco::Clock now;
	Poco::FastMutex::ScopedLock lock(_temporaryMutex);
	for (auto* pBans: {&_bannedAddresses, &_bannedUids})
	{
		for (auto it = pBans->begin(); it != pBans->end();)
		{
			if (it->second <= now) it = pBans->erase(it);
			else ++it;
		}
	}
}


Verdict BlacklistFilter::onAccept(const PeerInfo& peer)
{
	std::shared_ptr<const BanList> pAllow = std::atomic_load(&_pAllow);
	if (pAllow && !pAllow->bansAddress(peer.address)) return Verdict::reject(Status::BANNED, "address not allowed");
	if (std::atomic_load(&_pBans)->bansAddress(peer.address) || temporarilyBanned(_bannedAddresses, addressBlock(peer.address)))
		return Verdict::reject(Status::BANNED, "address banned");
	return Verdict::proceed();
}


Verdict BlacklistFilter::onLogin(const LoginInfo& login, SessionSlot&)
{
	if (std::atomic_load(&_pBans)->bansUid(login.uid) || temporarilyBanned(_bannedUids, login.uid))
		return Verdict::reject(Status::BANNED, "uid banned");
	// An address banned after this connection was accepted.
	if (temporarilyBanned(_bannedAddresses, addressBlock(login.peer.address))) return Verdict::reject(Status::BANNED, "address banned");
	return Verdict::proceed();
}


void BlacklistFilter::onBan(const BanRequest& request)
{
	if (request.seconds == 0) return;
	// Per block (imgate/Address.h): an IPv6 ban covers the /64 that the
	// ratelimit plugin counted, so rotating addresses in it does not help.
	const std::string block = request.address.empty() ? std::string() : addressBlock(request.address);
	const Poco::Clock now;
	Poco::Clock until(now); // monotonic: a wall-clock step neither lifts nor extends bans
	until += static_cast<Poco::Clock::ClockDiff>(request.seconds) * Poco::Clock::resolution();
	bool addressHeld = false; // already banned and in force: its sessions were kicked then
	bool uidHeld = false;
	{
		Poco::FastMutex::ScopedLock lock(_temporaryMutex);
		auto a = block.empty() ? _bannedAddresses.end() : _bannedAddresses.find(block);
		auto u = request.uid.empty() ? _bannedUids.end() : _bannedUids.find(request.uid);
		addressHeld = a != _bannedAddresses.end() && now < a->second;
		uidHeld = u != _bannedUids.end() && now < u->second;
		// Renewing a ban already held needs no room.
		const std::size_t added = (block.empty() || a != _bannedAddresses.end() ? 0 : 1)
			+ (request.uid.empty() || u != _bannedUids.end() ? 0 : 1);
		if (_bannedAddresses.size() + _bannedUids.size() + added > _maxTemporaryBans)
		{
			_logger.warning("temporary ban table full (%z entries): ban of address=%s uid=%s not recorded", _maxTemporaryBans, block, request.uid);
			return;
		}
		if (!block.empty()) _bannedAddresses[block] = until;
		if (!request.uid.empty()) _bannedUids[request.uid] = until;
	}
	_logger.information("temporary ban address=%s uid=%s for %u s (%s: %s)", block, request.uid, request.seconds, request.origin, request.reason);
	if (!_pHost) return;
	if (!request.uid.empty() && !uidHeld) _pHost->kickUid(request.uid, KickReason::BANNED, "banned");
	if (!block.empty() && !addressHeld)
		_pHost->kickAddresses([block](const std::string& address) { return addressBlock(address) == block; }, KickReason::BANNED, "banned");
}

} } // namespace imgate::blacklist


IMGATE_PLUGIN(imgate::blacklist::BlacklistFilter)
