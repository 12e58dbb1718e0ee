//
// RedisLink.cpp
//
// Layer: cluster
//

#include "server/cluster/RedisLink.h"
#include "Poco/Redis/Error.h"
#include "Poco/Redis/Exception.h"
#include <typeinfo>

namespace imgate {
namespace cluster {

POCO_IMPLEMENT_EXCEPTION(ClusterException, Poco::IOException, "Cluster error")


RedisLink::RedisLink(const std::string& address, const std::string& password, Poco::Timespan timeout):
	_address(address),
	_password(password),
	_timeout(timeout),
	_readTimeout(timeout)
{
}


void RedisLink::setReadTimeout(Poco::Timespan timeout)
{
	_readTimeout = timeout;
}


RedisLink::~RedisLink()
{
	disconnect();
}


void RedisLink::connect()
{
	if (_client.isConnected()) return;
	try
	{
		_client.connect(_address, _timeout);
		_client.setReceiveTimeout(_timeout);
	}
	catch (Poco::Exception& exc)
	{
		fail("cannot connect", exc);
	}
	Poco::Redis::Array ping;
	if (!_password.empty())
	{
		Poco::Redis::Array auth;
		auth << "AUTH" << _password;
		Poco::Redis::RedisType::Ptr reply;
		try
		{
			reply = _client.sendCommand(auth);
		}
		catch (Poco::Exception& exc)
		{
			fail("cannot authenticate", exc);
		}
		if (isError(reply))
		{
			disconnect();
			throw ClusterException("Redis at " + _address + " refused the password (cluster.redisPasswordFile): " + text(reply));
		}
	}
	ping << "PING";
	execute(ping); // NOAUTH and the like show here
	if (_readTimeout != _timeout) _client.setReceiveTimeout(_readTimeout);
}


bool RedisLink::connected() const
{
	return _client.isConnected();
}


void RedisLink::disconnect()
{
	try
	{
		if (_client.isConnected()) _client.disconnect();
	}
	catch (Poco::Exception&)
	{
		// Closing a broken connection has nothing left to report.
	}
}


Poco::Redis::Array RedisLink::pipeline(const std::vector<Poco::Redis::Array>& commands)
{
	connect();
	try
	{
		return _client.sendCommands(commands);
	}
	catch (Poco::Exception& exc)
	{
		fail("lost the connection", exc);
	}
}


Poco::Redis::RedisType::Ptr RedisLink::execute(const Poco::Redis::Array& command)
{
	connect();
	Poco::Redis::RedisType::Ptr reply;
	try
	{
		reply = _client.sendCommand(command);
	}
	catch (Poco::Exception& exc)
	{
		fail("lost the connection", exc);
	}
	if (isError(reply)) throw ClusterException("Redis at " + _address + ": " + text(reply));
	return reply;
}


void RedisLink::send(const Poco::Redis::Array& command)
{
	connect();
	try
	{
		_client.execute<void>(command);
		_client.flush(); // execute<void>() only buffers
	}
	catch (Poco::Exception& exc)
	{
		fail("lost the connection", exc);
	}
}


Poco::Redis::RedisType::Ptr RedisLink::read()
{
	try
	{
		return _client.readReply();
	}
	catch (Poco::TimeoutException&)
	{
		throw;
	}
	catch (Poco::Exception& exc)
	{
		fail("lost the connection", exc);
	}
}


void RedisLink::fail(const std::string& what, const Poco::Exception& exc)
{
	disconnect();
	throw ClusterException("Redis at " + _address + ": " + what + ": " + exc.displayText());
}


bool RedisLink::isError(const Poco::Redis::RedisType::Ptr& reply)
{
	return reply && reply->isError();
}


std::string RedisLink::text(const Poco::Redis::RedisType::Ptr& reply)
{
	if (!reply) return std::string();
	if (reply->isBulkString())
	{
		const auto& value = static_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(reply.get())->value();
		return value.isNull() ? std::string() : value.value();
	}
	if (reply->isSimpleString()) return static_cast<const Poco::Redis::Type<std::string>*>(reply.get())->value();
	if (reply->isInteger()) return std::to_string(static_cast<const Poco::Redis::Type<Poco::Int64>*>(reply.get())->value());
	if (reply->isError()) return static_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(reply.get())->value().getMessage();
	return std::string();
}


Poco::Int64 RedisLink::integer(const Poco::Redis::RedisType::Ptr& reply)
{
	if (!reply || !reply->isInteger()) return 0;
	return static_cast<const Poco::Redis::Type<Poco::Int64>*>(reply.get())->value();
}


bool RedisLink::isNil(const Poco::Redis::RedisType::Ptr& reply)
{
	if (!reply) return true;
	if (reply->isBulkString()) return static_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(reply.get())->value().isNull();
	if (reply->isArray()) return static_cast<const Poco::Redis::Type<Poco::Redis::Array>*>(reply.get())->value().isNull();
	return false;
}


std::vector<std::string> RedisLink::strings(const Poco::Redis::RedisType::Ptr& reply)
{
	std::vector<std::string> out;
	if (!reply || !reply->isArray()) return out;
	const Poco::Redis::Array& array = static_cast<const Poco::Redis::Type<Poco::Redis::Array>*>(reply.get())->value();
	if (array.isNull()) return out;
	for (auto it = array.begin(); it != array.end(); ++it) out.push_back(text(*it));
	return out;
}

} } // namespace imgate::cluster
