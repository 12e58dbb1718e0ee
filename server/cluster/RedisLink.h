//
// RedisLink.h
//
// Layer: cluster
// One connection to the cluster's Redis server, through Poco::Redis, that
// reconnects when it breaks.
//

#ifndef imgate_cluster_RedisLink_INCLUDED
#define imgate_cluster_RedisLink_INCLUDED

#include "Poco/Exception.h"
#include "Poco/Redis/Array.h"
#include "Poco/Redis/Client.h"
#include "Poco/Redis/Type.h"
#include "Poco/Timespan.h"
#include <string>
#include <vector>

namespace imgate {
namespace cluster {

POCO_DECLARE_EXCEPTION(, ClusterException, Poco::IOException)
	/// Redis cannot be reached or refused a command; the message names the
	/// server (never the password).


class RedisLink
	/// Not thread-safe: one thread uses a link. Every command goes through
	/// pipeline() or execute(); a failure disconnects, and the next call
	/// connects again (with AUTH if a password is set).
{
public:
	RedisLink(const std::string& address, const std::string& password, Poco::Timespan timeout);
		/// address is host:port; timeout bounds the connect and each reply.

	~RedisLink();

	const std::string& address() const;

	void setReadTimeout(Poco::Timespan timeout);
		/// How long read() waits for a pushed message (default: the
		/// timeout given); from the next connect on.

	void connect();
		/// Connects now if not connected. Throws ClusterException.

	bool connected() const;

	void disconnect();

	Poco::Redis::Array pipeline(const std::vector<Poco::Redis::Array>& commands);
		/// Sends every command, then reads every reply (one round trip).
		/// An error reply stays in the array (see check()).

	Poco::Redis::RedisType::Ptr execute(const Poco::Redis::Array& command);
		/// One command and its reply; throws ClusterException on an error
		/// reply.

	void send(const Poco::Redis::Array& command);
		/// Sends without reading a reply (SUBSCRIBE).

	Poco::Redis::RedisType::Ptr read();
		/// The next reply or pushed message. Throws Poco::TimeoutException
		/// after the timeout with nothing read, ClusterException otherwise.

	static bool isError(const Poco::Redis::RedisType::Ptr& reply);
	static std::string text(const Poco::Redis::RedisType::Ptr& reply);
		/// A bulk or simple string ("" for nil), an integer in decimal, an
		/// error's message.
	static Poco::Int64 integer(const Poco::Redis::RedisType::Ptr& reply);
		/// An integer reply (0 for anything else).
	static bool isNil(const Poco::Redis::RedisType::Ptr& reply);
	static std::vector<std::string> strings(const Poco::Redis::RedisType::Ptr& reply);
		/// The strings of an array reply.

private:
	[[noreturn]] void fail(const std::string& what, const Poco::Exception& exc);

	const std::string _address;
	const std::string _password;
	const Poco::Timespan _timeout;
	Poco::Timespan _readTimeout;
	Poco::Redis::Client _client;
};


inline const std::string& RedisLink::address() const
{
	return _address;
}

} } // namespace imgate::cluster

#endif // imgate_cluster_RedisLink_INCLUDED
