//
// Notice.h
//
// Layer: cluster
// One line of a message on a node's Redis channel, read.
//

#ifndef imgate_cluster_Notice_INCLUDED
#define imgate_cluster_Notice_INCLUDED

#include <string>

namespace imgate {
namespace cluster {

struct Notice
	/// The lines ClusterNode publishes (docs/cluster.md):
	///
	///     d UID                  a message for UID is in the store: read it
	///     k REASON UID MESSAGE   kick UID's sessions (REASON 1 DUPLICATE_LOGIN, 2 ADMIN)
	///     h                      heartbeat (NodeInbox's proof the channel lives)
	///
	/// Redis is shared: a line that is anything else (another program's,
	/// a uid outside the uid syntax, another reason) is ignored, never
	/// acted on.
{
	enum Kind
	{
		NONE,    /// A heartbeat, or a line to ignore.
		DELIVER,
		KICK
	};

	Kind kind = NONE;
	std::string uid;       /// DELIVER, KICK: a valid uid (protocol::isValidUid()).
	unsigned reason = 0;   /// KICK: 1 or 2.
	std::string message;   /// KICK: the rest of the line, at most MAX_MESSAGE bytes.

	enum
	{
		MAX_MESSAGE = 256
	};

	static Notice parse(const std::string& line);
};

} } // namespace imgate::cluster

#endif // imgate_cluster_Notice_INCLUDED
