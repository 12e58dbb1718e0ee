//
// Verdict.h
//
// imgate plugin SDK: what a filter decides (Envoy-style: proceed passes to
// the next filter; reject and ban end the chain).
//

#ifndef imgate_Verdict_INCLUDED
#define imgate_Verdict_INCLUDED

#include "imgate/Types.h"
#include <string>

namespace imgate {

class Verdict
{
public:
	enum Action
	{
		PROCEED,        /// Pass to the next filter.
		AUTHENTICATED,  /// onLogin only: the credentials are valid; pass on.
		REJECT,         /// Refuse this request with status and message.
		BAN             /// Refuse and close, and ask for a ban of banSeconds.
	};

	static Verdict proceed();
	static Verdict authenticated();
		/// From onLogin: the token proves the uid. A login is accepted only if
		/// a filter says so, or if auth.allowAnonymous is true and no loaded
		/// filter is an authenticator (Filter::authenticates()).
	static Verdict reject(Status status, const std::string& message);
		/// message goes to the client (LOGIN_RESP.message / ERROR.message):
		/// never put a secret in it.
	static Verdict ban(Status status, unsigned seconds, const std::string& message);

	Action action() const { return _action; }
	Status status() const { return _status; }
	const std::string& message() const { return _message; }
	unsigned banSeconds() const { return _banSeconds; }
	bool stops() const { return _action == REJECT || _action == BAN; }

private:
	Verdict(Action action, Status status, unsigned seconds, const std::string& message);

	Action _action;
	Status _status;
	unsigned _banSeconds;
	std::string _message;
};


inline Verdict::Verdict(Action action, Status status, unsigned seconds, const std::string& message):
	_action(action), _status(status), _banSeconds(seconds), _message(message)
{
}


inline Verdict Verdict::proceed()
{
	return Verdict(PROCEED, Status::OK, 0, std::string());
}


inline Verdict Verdict::authenticated()
{
	return Verdict(AUTHENTICATED, Status::OK, 0, std::string());
}


inline Verdict Verdict::reject(Status status, const std::string& message)
{
	return Verdict(REJECT, status, 0, message);
}


inline Verdict Verdict::ban(Status status, unsigned seconds, const std::string& message)
{
	return Verdict(BAN, status, seconds, message);
}

} // namespace imgate

#endif // imgate_Verdict_INCLUDED
