//
// GroupAdmin.h
//
// imgate-bench: creates the group scenario's groups through imgated's
// admin API (PUT /v1/groups/GID, docs/operations.md), before any member
// logs in.
//

#ifndef imgate_bench_GroupAdmin_INCLUDED
#define imgate_bench_GroupAdmin_INCLUDED

#include <string>
#include <vector>

namespace imgate {
namespace bench {

class GroupAdmin
{
public:
	GroupAdmin(const std::string& host, unsigned port, const std::string& tokenFile);
		/// Reads the bearer token from tokenFile (none sent if empty).
		/// Throws std::runtime_error naming the file if it cannot be read.

	void put(const std::string& gid, const std::vector<std::string>& members) const;
		/// Creates the group or replaces its members; throws
		/// std::runtime_error with the HTTP status and answer unless 200.

private:
	std::string _host;
	unsigned _port;
	std::string _token;
};

} } // namespace imgate::bench

#endif // imgate_bench_GroupAdmin_INCLUDED
