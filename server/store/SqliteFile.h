//
// SqliteFile.h
//
// Layer: store
// The durable store's SQLite file (store.type = sqlite): its folder, its
// lock and its connections.
//

#ifndef imgate_store_SqliteFile_INCLUDED
#define imgate_store_SqliteFile_INCLUDED

#include "server/store/StoreDatabase.h"
#include "server/store/StoreLock.h"
#include "Poco/Logger.h"
#include <memory>
#include <string>

namespace imgate {
namespace store {

class SqliteFile: public StoreDatabase
	/// A file in WAL mode; PATH-wal, PATH-shm and PATH.lock sit beside it.
	/// Message payloads are private: the folders it creates are 0750 and
	/// the file 0640 whatever the umask, and a folder or file open to
	/// other local users is logged as a warning.
{
public:
	SqliteFile(const std::string& path, bool fullSync, Poco::UInt64 maxDatabaseBytes);
		/// Creates the file's folder if missing, locks it against a second
		/// imgated (StoreLock) and creates an empty database file if there
		/// is none. Throws StoreException naming the file and the cause.

	~SqliteFile() override;

	std::string name() const override;
		/// The path.
	std::string describe() const override;
	std::unique_ptr<StoreWriter> openWriter(const StoreWriter::Limits& limits) override;
		/// Also creates or checks the schema (SqliteDatabase::openWriter()).
	std::unique_ptr<StoreReader> openReader() override;
	std::string cause(const Poco::Exception& exc) const override;
	bool isFull(const Poco::Exception& exc) const override;
		/// SQLITE_FULL: the disk or store.maxDatabaseBytes.

private:
	void createFolder();
		/// The database's folder and missing parents, 0750.
	void createDatabaseFile();
		/// A new database file, 0640 (its -wal and -shm files follow).
	void warnIfOpen(const std::string& path, unsigned mode, const char* what);
		/// Logs a warning if other users have any access to path.

	const std::string _path;
	const bool _fullSync;
	const Poco::UInt64 _maxDatabaseBytes;
	Poco::Logger& _logger;
	std::unique_ptr<StoreLock> _pLock;
};

} } // namespace imgate::store

#endif // imgate_store_SqliteFile_INCLUDED
