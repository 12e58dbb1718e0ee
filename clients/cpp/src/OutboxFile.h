//
// OutboxFile.h
//
// imgate C++ client: the outbox and the ids of the last deliveries kept in
// a file (ClientOptions::outboxFile), so that both survive the
// application's restart: unanswered sends are written again with their
// client_msg_id, and repeats of what the application already had are
// acknowledged without being handed over again.
//

#ifndef imgate_client_OutboxFile_INCLUDED
#define imgate_client_OutboxFile_INCLUDED

#include "imgate/client/Client.h"
#include <deque>
#include <map>
#include <unordered_map>
#include <string>
#include <vector>

namespace imgate {
namespace client {

class OutboxFile
	/// An append-only journal of records, each [length u32][crc32 u32]
	/// [type u8][fields], big-endian: a send (client_msg_id, to_uid,
	/// to_group, payload), an answered send (client_msg_id), a delivery
	/// handed over (msg_id). Opening reads it, drops a torn last record
	/// (a crash in the middle of a write), and rewrites it with only what
	/// is still live; so does sync() once the dead records are the larger
	/// part of a file above a few MiB.
	///
	/// The file is mode 0600 and locked (flock) while open: a second
	/// client on the same file is refused. One thread at a time.
{
public:
	explicit OutboxFile(const std::string& path, std::size_t rememberedIds = 4096);
		/// Creates the file if missing (not its folder). Throws
		/// Poco::FileException naming the file: cannot open or lock it ("in
		/// use by another client"), not an outbox file (it does not start
		/// as one), damaged (a record that does not read with whole records
		/// after it: the file is left as it is), or it cannot be written.

	~OutboxFile();
		/// Writes what was added since the last sync() (best effort).

	OutboxFile(const OutboxFile&) = delete;
	OutboxFile& operator = (const OutboxFile&) = delete;

	const std::vector<Client::Outgoing>& restoredSends() const;
		/// The sends not answered when the file was last written, in order.

	const std::deque<Poco::UInt64>& restoredIds() const;
		/// The ids of the last deliveries handed over, oldest first.

	void addSend(const Client::Outgoing& message);
	void addAnswered(Poco::UInt64 clientMsgId);
	void addDelivered(Poco::UInt64 msgId);
		/// Buffered until sync().

	void sync();
		/// Writes what was added and flushes it to the disk (fdatasync).
		/// Throws Poco::FileException naming the file when that fails (a
		/// full disk): the records stay buffered for the next sync().

	const std::string& path() const;

	std::size_t droppedBytes() const;
		/// Bytes of a torn last record that opening dropped (0 mostly).

private:
	void read();
	void rewrite();
	void append(std::string& out, char type, const std::string& fields) const;

	std::string _path;
	int _fd = -1;
	int _lockFd = -1;
	std::size_t _droppedBytes = 0;
	bool _needRewrite = false;  /// A failed append may have left a torn record: rewrite instead.
	std::size_t _rememberedIds;
	std::vector<Client::Outgoing> _restoredSends;
	std::deque<Poco::UInt64> _restoredIds;
	struct LiveSend
	{
		Poco::UInt64 clientMsgId;
		std::string record;
	};
	std::map<Poco::UInt64, LiveSend> _live;                 /// Unanswered sends by order of addSend().
	std::unordered_map<Poco::UInt64, Poco::UInt64> _orderOf; /// client_msg_id -> its key in _live.
	Poco::UInt64 _nextOrder = 0;
	std::deque<Poco::UInt64> _ids;
	std::string _pending;
	std::size_t _fileBytes = 0;
};


inline const std::vector<Client::Outgoing>& OutboxFile::restoredSends() const
{
	return _restoredSends;
}


inline const std::deque<Poco::UInt64>& OutboxFile::restoredIds() const
{
	return _restoredIds;
}


inline const std::string& OutboxFile::path() const
{
	return _path;
}


inline std::size_t OutboxFile::droppedBytes() const
{
	return _droppedBytes;
}

} } // namespace imgate::client

#endif // imgate_client_OutboxFile_INCLUDED
