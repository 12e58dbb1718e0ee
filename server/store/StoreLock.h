//
// StoreLock.h
//
// Layer: store
// Keeps a second imgated from opening the same database file.
//

#ifndef imgate_store_StoreLock_INCLUDED
#define imgate_store_StoreLock_INCLUDED

#include <string>

namespace imgate {
namespace store {

class StoreLock
	/// An exclusive flock() on PATH.lock, held for the object's lifetime.
	/// Two servers on one database would each hand out msg_ids from their
	/// own counter; SQLite's own locking does not prevent that.
{
public:
	explicit StoreLock(const std::string& databasePath);
		/// Takes the lock. Throws StoreException naming the lock file if it
		/// cannot be created or another process holds it (with its pid).

	~StoreLock();

	const std::string& path() const;

	StoreLock(const StoreLock&) = delete;
	StoreLock& operator = (const StoreLock&) = delete;

private:
	std::string _path;
	int _fd = -1;
};


inline const std::string& StoreLock::path() const
{
	return _path;
}

} } // namespace imgate::store

#endif // imgate_store_StoreLock_INCLUDED
