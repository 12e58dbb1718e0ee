//
// PostgresException.h
//
// Layer: store
// A PostgreSQL error as the store needs it: the server's words, its
// SQLSTATE, and whether the server was reachable at all.
//

#ifndef imgate_store_PostgresException_INCLUDED
#define imgate_store_PostgresException_INCLUDED

#include "Poco/Exception.h"
#include <string>

namespace imgate {
namespace store {

class PostgresException: public Poco::IOException
	/// Thrown by PostgresConnection. message() is PostgreSQL's primary
	/// message (libpq's for a connection failure), without the SQL.
{
public:
	PostgresException(const std::string& message, const std::string& sqlState, bool connectionLost);

	const std::string& sqlState() const;
		/// The five-character SQLSTATE, "" if the error came from libpq
		/// (no answer from the server).

	bool connectionLost() const;
		/// The connection was broken when the error was seen: nothing of
		/// the transaction was committed, and the next use reconnects.

	bool isFull() const;
		/// SQLSTATE 53100 (disk_full): the server has no room left.

	bool isUnavailable() const;
		/// The server cannot take this write now but may soon: a lost
		/// connection, class 08 (connection exception), 57P0x (shutting
		/// down, cannot connect now), 53300 (too many connections), 25006
		/// (read-only: a standby, or default_transaction_read_only), 55P03
		/// (lock_timeout), 57014 (statement_timeout, or cancelled by an
		/// administrator), 40001 and 40P01 (serialization failure,
		/// deadlock).

	const char* name() const noexcept override;
	const char* className() const noexcept override;
	Poco::Exception* clone() const override;
	void rethrow() const override;

private:
	std::string _sqlState;
	bool _connectionLost;
};

} } // namespace imgate::store

#endif // imgate_store_PostgresException_INCLUDED
