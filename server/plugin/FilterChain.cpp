//
// FilterChain.cpp
//
// Layer: plugin
//

#include "server/plugin/FilterChain.h"
#include "server/plugin/LegacyBanStore.h"
#include "server/plugin/PluginHost.h"
#include "server/metrics/ThreadSlot.h"
#include "Poco/AutoPtr.h"
#include "Poco/Util/MapConfiguration.h"

namespace imgate {
namespace plugin {

SessionSlot& SessionSlots::at(std::size_t index, std::size_t count)
{
	if (!_pSlots) _pSlots.reset(new SessionSlot[count]);
	return _pSlots[index];
}


FilterChain::FilterChain()
{
}


FilterChain::FilterChain(const PluginHost& host)
{
	for (const auto& plugin: host.plugins())
	{
		std::shared_ptr<VerdictRow> pRows(new VerdictRow[metrics::ThreadSlot::ROWS], std::default_delete<VerdictRow[]>());
		Entry e{plugin.pFilter.get(), plugin.name, plugin.apiVersion, &Poco::Logger::get("imgate.plugin." + plugin.name), pRows, nullptr, nullptr};
		_hasAuthenticator = _hasAuthenticator || plugin.pFilter->authenticates();
		// Each hook only on plugins built at its version or later: a 1.0 or
		// 1.1 plugin's vtable has no banStore().
		if (e.apiVersion >= API_1_2) guarded(e, "banStore", [&e](Filter& f) { e.pBanStore = f.banStore(); });
		bool legacyBans = false;
		if (!e.pBanStore && e.apiVersion >= API_1_1) guarded(e, "recordsBans", [&legacyBans](Filter& f) { legacyBans = f.recordsBans(); });
		if (legacyBans)
		{
			if (e.apiVersion >= API_1_2)
			{
				e.pLogger->warning("keeps bans through the plugin API 1.1 hooks (recordsBans, onBan, onUnban, listBans) although built for %s: "
					"they still work, but implement banStore() (docs/plugins.md, \"Bans\")", PluginHost::versionText(e.apiVersion));
			}
			e.pLegacyBans = std::make_shared<LegacyBanStore>(*plugin.pFilter);
			e.pBanStore = e.pLegacyBans.get();
		}
		_entries.push_back(std::move(e));
	}
}


template <class Hook>
Verdict FilterChain::run(const char* hookName, Hook&& hook) const
{
	for (std::size_t i = 0; i < _entries.size(); ++i)
	{
		const Entry& e = _entries[i];
		try
		{
			Verdict v = hook(i, *e.pFilter);
			count(e, static_cast<std::size_t>(v.action()));
			if (v.stops()) return v;
		}
		catch (std::exception& exc)
		{
			count(e, VERDICT_ERROR);
			e.pLogger->error("%s failed: %s", std::string(hookName), std::string(exc.what()));
			return Verdict::reject(Status::INTERNAL, "internal error");
		}
		catch (...)
		{
			count(e, VERDICT_ERROR);
			e.pLogger->error("%s failed with an unknown exception", std::string(hookName));
			return Verdict::reject(Status::INTERNAL, "internal error");
		}
	}
	return Verdict::proceed();
}


void FilterChain::count(const Entry& e, std::size_t kind) const
{
	if (kind < VERDICT_KINDS) e.pVerdicts.get()[metrics::ThreadSlot::row()].counts[kind].add();
}


const char* FilterChain::verdictName(std::size_t kind)
{
	static const char* const names[VERDICT_KINDS] = {"proceed", "authenticated", "reject", "ban", "error"};
	return kind < VERDICT_KINDS ? names[kind] : "unknown";
}


const std::string& FilterChain::pluginName(std::size_t index) const
{
	return _entries.at(index).name;
}


Poco::UInt64 FilterChain::verdictCount(std::size_t index, std::size_t kind) const
{
	const Entry& e = _entries.at(index);
	Poco::UInt64 n = 0;
	for (std::size_t row = 0; row < metrics::ThreadSlot::ROWS; ++row) n += e.pVerdicts.get()[row].counts[kind].value();
	return n;
}


template <class Call>
void FilterChain::guarded(const Entry& e, const char* hookName, Call&& call) const
{
	try
	{
		call(*e.pFilter);
	}
	catch (std::exception& exc)
	{
		e.pLogger->error("%s failed: %s", std::string(hookName), std::string(exc.what()));
	}
	catch (...)
	{
		e.pLogger->error("%s failed with an unknown exception", std::string(hookName));
	}
}


Verdict FilterChain::onAccept(const PeerInfo& peer) const
{
	return run("onAccept", [&](std::size_t, Filter& f) { return f.onAccept(peer); });
}


Verdict FilterChain::onLogin(const LoginInfo& login, SessionSlots& slots, bool& authenticated) const
{
	authenticated = false;
	return run("onLogin", [&](std::size_t i, Filter& f)
	{
		Verdict v = f.onLogin(login, slots.at(i, _entries.size()));
		if (v.action() == Verdict::AUTHENTICATED) authenticated = true;
		return v;
	});
}


Verdict FilterChain::onFrame(const FrameInfo& frame, SessionSlots& slots) const
{
	return run("onFrame", [&](std::size_t i, Filter& f) { return f.onFrame(frame, slots.at(i, _entries.size())); });
}


void FilterChain::onClose(const SessionInfo& session, SessionSlots& slots) const
{
	for (std::size_t i = 0; i < _entries.size(); ++i)
	{
		guarded(_entries[i], "onClose", [&](Filter& f) { f.onClose(session, slots.at(i, _entries.size())); });
	}
}

} } // namespace imgate::plugin


namespace imgate {
namespace plugin {

void FilterChain::start(Host& host) const
{
	for (const Entry& e: _entries)
	{
		try
		{
			e.pFilter->start(host);
		}
		catch (Poco::Exception& exc)
		{
			throw PluginException("plugin " + e.name + ": start failed: " + exc.message());
		}
		catch (std::exception& exc)
		{
			throw PluginException("plugin " + e.name + ": start failed: " + exc.what());
		}
		catch (...)
		{
			throw PluginException("plugin " + e.name + ": start failed with an unknown exception");
		}
	}
}


void FilterChain::stop() const
{
	for (auto it = _entries.rbegin(); it != _entries.rend(); ++it)
	{
		guarded(*it, "stop", [](Filter& f) { f.stop(); });
	}
}


FilterChain::Reconfigured FilterChain::reconfigure(const std::string& name, const std::map<std::string, std::string>& settings, std::string& error) const
{
	for (const Entry& e: _entries)
	{
		if (e.name != name) continue;
		if (e.apiVersion < API_1_1) return NEEDS_RESTART;
		Poco::AutoPtr<Poco::Util::MapConfiguration> pConfig = new Poco::Util::MapConfiguration;
		for (const auto& kv: settings) pConfig->setString(kv.first, kv.second);
		try
		{
			return e.pFilter->reconfigure(*pConfig) ? RECONFIGURED : NEEDS_RESTART;
		}
		catch (Poco::Exception& exc)
		{
			error = exc.message().empty() ? exc.displayText() : exc.message();
		}
		catch (std::exception& exc)
		{
			error = exc.what();
		}
		catch (...)
		{
			error = "an unknown exception";
		}
		return REFUSED;
	}
	return NEEDS_RESTART;
}


void FilterChain::reload() const
{
	for (const Entry& e: _entries)
	{
		guarded(e, "reload", [](Filter& f) { f.reload(); });
	}
}


bool FilterChain::asksForBan(const Verdict& verdict)
{
	return verdict.action() == Verdict::BAN && verdict.banSeconds() > 0;
}


BanRequest FilterChain::banRequest(const Verdict& verdict, const std::string& address, const std::string& uid)
{
	BanRequest request;
	request.address = address;
	request.uid = uid;
	request.seconds = verdict.banSeconds();
	request.reason = verdict.message();
	request.origin = "filter verdict";
	return request;
}


bool FilterChain::isAdminOnlyBan(const BanRequest& request)
{
	return request.seconds == 0 || request.address.find('/') != std::string::npos;
}


BanRequest FilterChain::copyBan(const BanRequest& ban, unsigned)
{
	// Field by field: a field appended to BanRequest in 1.N is copied
	// here only if the plugin's version (the parameter) is 1.N or later.
	// None has been since 1.0.
	BanRequest copy;
	copy.address = ban.address;
	copy.uid = ban.uid;
	copy.seconds = ban.seconds;
	copy.reason = ban.reason;
	copy.origin = ban.origin;
	return copy;
}


bool FilterChain::deliverBan(const BanRequest& request, bool answer) const
{
	const bool adminOnly = isAdminOnlyBan(request);
	bool held = false;
	for (const Entry& e: _entries)
	{
		if (e.pBanStore && (answer || !e.pLegacyBans))
			guarded(e, "banStore().record", [&](Filter&) { held = e.pBanStore->record(request) || held; });
		else if (!adminOnly || e.apiVersion >= API_1_1) // a CIDR block or a ban until lifted is news to a 1.0 plugin
			guarded(e, "onBan", [&](Filter& f) { f.onBan(request); });
	}
	return held;
}


void FilterChain::ban(const BanRequest& request) const
{
	deliverBan(request, false);
}


bool FilterChain::recordBan(const BanRequest& request) const
{
	return deliverBan(request, true);
}


bool FilterChain::recordsBans() const
{
	for (const Entry& e: _entries)
	{
		if (e.pBanStore) return true;
	}
	return false;
}


bool FilterChain::unban(const BanRequest& request) const
{
	bool lifted = false;
	for (const Entry& e: _entries)
	{
		if (e.pBanStore) guarded(e, "banStore().lift", [&](Filter&) { lifted = e.pBanStore->lift(request) || lifted; });
	}
	return lifted;
}


std::vector<BanRequest> FilterChain::listBans() const
{
	std::vector<BanRequest> bans;
	for (const Entry& e: _entries)
	{
		if (!e.pBanStore) continue;
		const unsigned version = e.apiVersion;
		guarded(e, "banStore().list", [&](Filter&) { e.pBanStore->list([&bans, version](const BanRequest& ban) { bans.push_back(copyBan(ban, version)); }); });
	}
	return bans;
}

} } // namespace imgate::plugin
