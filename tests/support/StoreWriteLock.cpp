//
// StoreWriteLock.cpp
//

#include "tests/support/StoreWriteLock.h"
#include "Poco/Exception.h"
#include <sqlite3.h>

namespace imgate {
namespace test {

StoreWriteLock::StoreWriteLock(const std::string& path)
{
	if (sqlite3_open_v2(path.c_str(), &_pDb, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
	{
		std::string error = _pDb ? sqlite3_errmsg(_pDb) : "out of memory";
		release();
		throw Poco::IOException(path + ": cannot open: " + error);
	}
	sqlite3_busy_timeout(_pDb, 5000);
	if (sqlite3_exec(_pDb, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
	{
		std::string error = sqlite3_errmsg(_pDb);
		release();
		throw Poco::IOException(path + ": cannot take the write lock: " + error);
	}
}


StoreWriteLock::~StoreWriteLock()
{
	release();
}


void StoreWriteLock::release()
{
	if (!_pDb) return;
	sqlite3_exec(_pDb, "ROLLBACK", nullptr, nullptr, nullptr);
	sqlite3_close(_pDb);
	_pDb = nullptr;
}

} } // namespace imgate::test
