//
// OutboxFile.cpp
//

#include "clients/cpp/src/OutboxFile.h"
#include "Poco/Checksum.h"
#include "Poco/Exception.h"
#include "Poco/Path.h"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imgate {
namespace client {

namespace {

const char MAGIC[] = "IMGATE-OUTBOX 1\n";
const std::size_t MAGIC_SIZE = sizeof(MAGIC) - 1;
const std::size_t COMPACT_ABOVE = 4 << 20;
const std::size_t MAX_FILE = std::size_t(1) << 30;

void putU32(std::string& out, Poco::UInt32 v)
{
	for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void putU64(std::string& out, Poco::UInt64 v)
{
	for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void putBytes(std::string& out, const std::string& bytes)
{
	putU32(out, static_cast<Poco::UInt32>(bytes.size()));
	out += bytes;
}

class Reader
	/// Big-endian fields of one record; ok() turns false on a short record.
{
public:
	Reader(const char* p, std::size_t n): _p(p), _n(n) {}

	Poco::UInt64 u(int bytes)
	{
		if (_n < static_cast<std::size_t>(bytes)) return fail();
		Poco::UInt64 v = 0;
		for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(_p[i]);
		_p += bytes;
		_n -= bytes;
		return v;
	}

	std::string bytes()
	{
		const std::size_t length = static_cast<std::size_t>(u(4));
		if (!_ok || _n < length)
		{
			fail();
			return std::string();
		}
		std::string s(_p, length);
		_p += length;
		_n -= length;
		return s;
	}

	bool ok() const { return _ok && _n == 0; }

private:
	Poco::UInt64 fail() { _ok = false; _n = 0; return 0; }

	const char* _p;
	std::size_t _n;
	bool _ok = true;
};

bool wholeRecordAt(const std::string& data, std::size_t at)
	/// A record with a known type and a matching CRC starts at at.
{
	Reader header(data.data() + at, 8);
	const std::size_t length = static_cast<std::size_t>(header.u(4));
	const Poco::UInt32 crc = static_cast<Poco::UInt32>(header.u(4));
	if (length == 0 || at + 8 + length > data.size()) return false;
	const char type = data[at + 8];
	if (type != 'S' && type != 'A' && type != 'D') return false;
	Poco::Checksum check(Poco::Checksum::TYPE_CRC32);
	check.update(data.data() + at + 8, static_cast<unsigned>(length));
	return check.checksum() == crc;
}


std::string why()
{
	return std::strerror(errno);
}

void writeAll(int fd, const std::string& bytes, const std::string& path)
{
	std::size_t done = 0;
	while (done < bytes.size())
	{
		const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) throw Poco::FileException(path + ": cannot write the outbox: " + why());
		done += static_cast<std::size_t>(n);
	}
}

} // namespace


OutboxFile::OutboxFile(const std::string& path, std::size_t rememberedIds):
	_path(path),
	_rememberedIds(rememberedIds > 0 ? rememberedIds : 1)
{
	// The lock sits on a file of its own: the outbox itself is replaced
	// by rename() when it is rewritten.
	const std::string lockPath = path + ".lock";
	_lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (_lockFd < 0) throw Poco::FileException(lockPath + ": cannot open the outbox's lock file: " + why());
	if (::flock(_lockFd, LOCK_EX | LOCK_NB) != 0)
	{
		::close(_lockFd);
		throw Poco::FileException(path + ": the outbox is in use by another client (" + lockPath + " is locked)");
	}
	try
	{
		read();
		rewrite();
	}
	catch (...)
	{
		if (_fd >= 0) ::close(_fd);
		::close(_lockFd);
		throw;
	}
}


OutboxFile::~OutboxFile()
{
	try
	{
		sync();
	}
	catch (...)
	{
		// Nothing more can be done here; what was synced before stays.
	}
	if (_fd >= 0) ::close(_fd);
	::close(_lockFd);
}


void OutboxFile::read()
{
	const int fd = ::open(_path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		if (errno == ENOENT) return;
		throw Poco::FileException(_path + ": cannot read the outbox: " + why());
	}
	std::string data;
	char chunk[65536];
	while (true)
	{
		const ssize_t n = ::read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR) continue;
		if (n < 0)
		{
			const std::string reason = why();
			::close(fd);
			throw Poco::FileException(_path + ": cannot read the outbox: " + reason);
		}
		if (n == 0) break;
		data.append(chunk, static_cast<std::size_t>(n));
		if (data.size() > MAX_FILE)
		{
			::close(fd);
			throw Poco::FileException(_path + ": above 1 GiB: not an outbox this client wrote");
		}
	}
	::close(fd);
	if (data.empty()) return;
	if (data.compare(0, MAGIC_SIZE, MAGIC) != 0)
		throw Poco::FileException(_path + ": not an imgate outbox file (it does not start with \"IMGATE-OUTBOX 1\"); refusing to touch it");

	std::size_t at = MAGIC_SIZE;
	while (at + 8 <= data.size())
	{
		Reader header(data.data() + at, 8);
		const std::size_t length = static_cast<std::size_t>(header.u(4));
		const Poco::UInt32 crc = static_cast<Poco::UInt32>(header.u(4));
		if (length == 0 || at + 8 + length > data.size()) break; // torn: the last write did not finish
		Poco::Checksum check(Poco::Checksum::TYPE_CRC32);
		check.update(data.data() + at + 8, static_cast<unsigned>(length));
		if (check.checksum() != crc) break;
		const char type = data[at + 8];
		Reader fields(data.data() + at + 9, length - 1);
		if (type == 'S')
		{
			Client::Outgoing message;
			message.clientMsgId = fields.u(8);
			message.toUid = fields.bytes();
			message.toGroup = fields.bytes();
			message.payload = fields.bytes();
			if (!fields.ok()) break;
			addSend(message);
		}
		else if (type == 'A')
		{
			const Poco::UInt64 id = fields.u(8);
			if (!fields.ok()) break;
			addAnswered(id);
		}
		else if (type == 'D')
		{
			const Poco::UInt64 id = fields.u(8);
			if (!fields.ok()) break;
			addDelivered(id);
		}
		else
		{
			break;
		}
		at += 8 + length;
	}
	// A crash tears only the last write: nothing whole may follow the
	// record that does not read. If something does, the file was damaged
	// some other way, and dropping the rest would lose sends silently.
	for (std::size_t next = at + 1; next + 9 <= data.size(); ++next)
	{
		if (wholeRecordAt(data, next))
			throw Poco::FileException(_path + ": damaged at byte " + std::to_string(at) + " (whole records follow it); left as it is");
	}
	_droppedBytes = data.size() - at;
	_pending.clear();
	for (const auto& entry: _live)
	{
		Client::Outgoing message;
		Reader fields(entry.second.record.data() + 9, entry.second.record.size() - 9);
		message.clientMsgId = fields.u(8);
		message.toUid = fields.bytes();
		message.toGroup = fields.bytes();
		message.payload = fields.bytes();
		_restoredSends.push_back(std::move(message));
	}
	_restoredIds = _ids;
}


void OutboxFile::rewrite()
{
	std::string data(MAGIC, MAGIC_SIZE);
	for (const auto& entry: _live) data += entry.second.record;
	for (Poco::UInt64 id: _ids)
	{
		std::string fields;
		putU64(fields, id);
		append(data, 'D', fields);
	}
	// What was added since the last sync() is in _live and _ids already.
	const std::string temp = _path + ".tmp";
	const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) throw Poco::FileException(temp + ": cannot write the outbox: " + why());
	try
	{
		::fchmod(fd, 0600);
		writeAll(fd, data, temp);
		if (::fsync(fd) != 0) throw Poco::FileException(temp + ": cannot flush the outbox: " + why());
	}
	catch (...)
	{
		::close(fd);
		::unlink(temp.c_str());
		throw;
	}
	::close(fd);
	if (::rename(temp.c_str(), _path.c_str()) != 0)
	{
		const std::string reason = why();
		::unlink(temp.c_str());
		throw Poco::FileException(_path + ": cannot replace the outbox: " + reason);
	}
	// The rename is durable once the folder is.
	const std::string dir = Poco::Path(_path).makeParent().toString();
	const int dirFd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirFd >= 0)
	{
		::fsync(dirFd);
		::close(dirFd);
	}
	if (_fd >= 0) ::close(_fd);
	_fd = ::open(_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
	if (_fd < 0) throw Poco::FileException(_path + ": cannot open the outbox: " + why());
	_fileBytes = data.size();
	_pending.clear();
}


void OutboxFile::append(std::string& out, char type, const std::string& fields) const
{
	std::string body(1, type);
	body += fields;
	Poco::Checksum check(Poco::Checksum::TYPE_CRC32);
	check.update(body.data(), static_cast<unsigned>(body.size()));
	putU32(out, static_cast<Poco::UInt32>(body.size()));
	putU32(out, check.checksum());
	out += body;
}


void OutboxFile::addSend(const Client::Outgoing& message)
{
	std::string fields;
	putU64(fields, message.clientMsgId);
	putBytes(fields, message.toUid);
	putBytes(fields, message.toGroup);
	putBytes(fields, message.payload);
	std::string record;
	append(record, 'S', fields);
	_pending += record;
	auto previous = _orderOf.find(message.clientMsgId);
	if (previous != _orderOf.end()) _live.erase(previous->second); // sent again: the newer copy counts
	_live[_nextOrder] = LiveSend{message.clientMsgId, std::move(record)};
	_orderOf[message.clientMsgId] = _nextOrder++;
}


void OutboxFile::addAnswered(Poco::UInt64 clientMsgId)
{
	auto it = _orderOf.find(clientMsgId);
	if (it == _orderOf.end()) return;
	_live.erase(it->second);
	_orderOf.erase(it);
	std::string fields;
	putU64(fields, clientMsgId);
	append(_pending, 'A', fields);
}


void OutboxFile::addDelivered(Poco::UInt64 msgId)
{
	_ids.push_back(msgId);
	if (_ids.size() > _rememberedIds) _ids.pop_front();
	std::string fields;
	putU64(fields, msgId);
	append(_pending, 'D', fields);
}


void OutboxFile::sync()
{
	if (_pending.empty()) return;
	std::size_t live = MAGIC_SIZE + _ids.size() * 17;
	for (const auto& entry: _live) live += entry.second.record.size();
	if (_needRewrite || (_fileBytes + _pending.size() > COMPACT_ABOVE && live * 2 < _fileBytes + _pending.size()))
	{
		rewrite();
		_needRewrite = false;
		return;
	}
	try
	{
		writeAll(_fd, _pending, _path);
		if (::fdatasync(_fd) != 0) throw Poco::FileException(_path + ": cannot flush the outbox: " + why());
	}
	catch (...)
	{
		_needRewrite = true;
		throw;
	}
	_fileBytes += _pending.size();
	_pending.clear();
}

} } // namespace imgate::client
