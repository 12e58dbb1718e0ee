//
// InProcessServer.h
//
// The session layer on 127.0.0.1 inside the test's process, its timers on
// a clock the test moves: timeouts are tested without waiting for them.
//

#ifndef imgate_test_InProcessServer_INCLUDED
#define imgate_test_InProcessServer_INCLUDED

#include "server/net/Acceptor.h"
#include "server/net/LoopPool.h"
#include "server/plugin/FilterChain.h"
#include "server/session/SessionConfig.h"
#include "server/session/SessionManager.h"
#include "server/store/MemoryMessageStore.h"
#include "tests/support/ManualClock.h"
#include "tools/imgate-cli/ImgateClient.h"
#include <memory>
#include <string>

namespace imgate {
namespace test {

class InProcessServer
	/// One event loop whose ticks follow a ManualClock, a SessionManager
	/// over a MemoryMessageStore, no plugins, and the real Acceptor on
	/// 127.0.0.1, port 0: the same code imgated runs, minus the app layer.
	/// Every call from the test's thread.
{
public:
	explicit InProcessServer(const session::SessionConfig& config, net::AcceptCheck* pCheck = nullptr);
		/// Anonymous logins are allowed whatever config says. pCheck, if
		/// given, runs on the acceptor's thread for every connection, as
		/// the plugins' onAccept does in imgated.

	~InProcessServer();

	Poco::UInt16 port() const;

	std::unique_ptr<client::ImgateClient> connect();
		/// Connects and waits until the loop has adopted the connection:
		/// from then on, the clock runs for it.

	std::unique_ptr<client::ImgateClient> login(const std::string& uid);
		/// connect(), then LOGIN; throws unless LOGIN_RESP is OK.

	void advance(unsigned ms);
		/// Moves the clock by ms and returns once the loop has run the
		/// timers that became due and written what they sent.

	void sync();
		/// Returns once the loop has finished a whole turn begun after the
		/// call: frames read before it are handled and answered.

	std::size_t sessionCount() const;

	session::SessionManager& manager();

private:
	ManualClock _clock;
	net::LoopPool _loops;
	store::MemoryMessageStore _store;
	plugin::FilterChain _filters;
	session::SessionManager _manager;
	std::unique_ptr<net::Acceptor> _pAcceptor;
};

} } // namespace imgate::test

#endif // imgate_test_InProcessServer_INCLUDED
