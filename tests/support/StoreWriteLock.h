//
// StoreWriteLock.h
//
// Holds SQLite's write lock on a running server's database from the test
// process, so the server's group commit waits until the test lets go.
//

#ifndef imgate_test_StoreWriteLock_INCLUDED
#define imgate_test_StoreWriteLock_INCLUDED

#include <string>

struct sqlite3;

namespace imgate {
namespace test {

class StoreWriteLock
	/// BEGIN IMMEDIATE on the database at path: the server's writer waits
	/// (its busy timeout is 5 s) until release() or destruction, so a test
	/// can act while MSG_SENDs are sure to be waiting for their commit.
	/// Keep it well under 5 s, or the server's commit fails.
{
public:
	explicit StoreWriteLock(const std::string& path);
		/// Takes the lock (waiting up to 5 s for the server's own
		/// transaction). Throws Poco::IOException naming path.

	~StoreWriteLock();
		/// release().

	void release();
		/// Ends the transaction and closes the connection. Idempotent.

	StoreWriteLock(const StoreWriteLock&) = delete;
	StoreWriteLock& operator = (const StoreWriteLock&) = delete;

private:
	sqlite3* _pDb = nullptr;
};

} } // namespace imgate::test

#endif // imgate_test_StoreWriteLock_INCLUDED
