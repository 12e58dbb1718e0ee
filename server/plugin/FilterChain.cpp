//
// FilterChain.cpp
//
// Layer: plugin
//

#include "server/plugin/FilterChain.h"
#include "server/plugin/PluginHost.h"

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
		_entries.push_back(Entry{plugin.pFilter.get(), plugin.name, plugin.apiVersion, &Poco::Logger::get("imgate.plugin." + plugin.name)});
		_hasAuthenticator = _hasAuthenticator || plugin.pFilter->authenticates();
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
			if (v.stops()) return v;
		}
		catch (std::exception& exc)
		{
			e.pLogger->error("%s failed: %s", std::string(hookName), std::string(exc.what()));
			return Verdict::reject(Status::INTERNAL, "internal error");
		}
		catch (...)
		{
			e.pLogger->error("%s failed with an unknown exception", std::string(hookName));
			return Verdict::reject(Status::INTERNAL, "internal error");
		}
	}
	return Verdict::proceed();
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
		try
		{
			_entries[i].pFilter->onClose(session, slots.at(i, _entries.size()));
		}
		catch (std::exception& exc)
		{
			_entries[i].pLogger->error("onClose failed: %s", std::string(exc.what()));
		}
		catch (...)
		{
			_entries[i].pLogger->error("onClose failed with an unknown exception");
		}
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
		try
		{
			it->pFilter->stop();
		}
		catch (std::exception& exc)
		{
			it->pLogger->error("stop failed: %s", std::string(exc.what()));
		}
		catch (...)
		{
			it->pLogger->error("stop failed with an unknown exception");
		}
	}
}


void FilterChain::reload() const
{
	for (const Entry& e: _entries)
	{
		try
		{
			e.pFilter->reload();
		}
		catch (std::exception& exc)
		{
			e.pLogger->error("reload failed: %s", std::string(exc.what()));
		}
		catch (...)
		{
			e.pLogger->error("reload failed with an unknown exception");
		}
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


void FilterChain::ban(const BanRequest& request) const
{
	for (const Entry& e: _entries)
	{
		try
		{
			e.pFilter->onBan(request);
		}
		catch (std::exception& exc)
		{
			e.pLogger->error("onBan failed: %s", std::string(exc.what()));
		}
		catch (...)
		{
			e.pLogger->error("onBan failed with an unknown exception");
		}
	}
}

} } // namespace imgate::plugin
