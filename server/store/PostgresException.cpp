//
// PostgresException.cpp
//
// Layer: store
//

#include "server/store/PostgresException.h"
#include <typeinfo>

namespace imgate {
namespace store {

PostgresException::PostgresException(const std::string& message, const std::string& sqlState, bool connectionLost):
	Poco::IOException(message),
	_sqlState(sqlState),
	_connectionLost(connectionLost)
{
}


const std::string& PostgresException::sqlState() const
{
	return _sqlState;
}


bool PostgresException::connectionLost() const
{
	return _connectionLost;
}


bool PostgresException::isFull() const
{
	return _sqlState == "53100";
}


bool PostgresException::isUnavailable() const
{
	return _connectionLost
		|| _sqlState.compare(0, 2, "08") == 0
		|| _sqlState.compare(0, 4, "57P0") == 0
		|| _sqlState == "53300"
		|| _sqlState == "25006"
		|| _sqlState == "55P03"
		|| _sqlState == "57014"
		|| _sqlState == "40001"
		|| _sqlState == "40P01";
}


const char* PostgresException::name() const noexcept
{
	return "PostgreSQL error";
}


const char* PostgresException::className() const noexcept
{
	return typeid(*this).name();
}


Poco::Exception* PostgresException::clone() const
{
	return new PostgresException(*this);
}


void PostgresException::rethrow() const
{
	throw *this;
}

} } // namespace imgate::store
