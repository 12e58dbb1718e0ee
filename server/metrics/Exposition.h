//
// Exposition.h
//
// Layer: metrics
// Writes the Prometheus text exposition format, version 0.0.4: each
// family's # HELP and # TYPE lines, then its samples.
//

#ifndef imgate_metrics_Exposition_INCLUDED
#define imgate_metrics_Exposition_INCLUDED

#include "server/metrics/Histogram.h"
#include "Poco/Types.h"
#include <string>
#include <utility>
#include <vector>

namespace imgate {
namespace metrics {

class Exposition
	/// Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and counters end in
	/// _total (poco_assert: they are the server's own constants). Label
	/// values are escaped (backslash, double quote, newline).
{
public:
	using Labels = std::vector<std::pair<std::string, std::string>>;

	static const std::string CONTENT_TYPE; /// "text/plain; version=0.0.4; charset=utf-8"

	void counter(const std::string& name, const std::string& help);
	void gauge(const std::string& name, const std::string& help);
	void histogram(const std::string& name, const std::string& help);
		/// Starts a family; the samples that follow belong to it.

	void sample(Poco::UInt64 value, const Labels& labels = Labels());
	void sample(Poco::Int64 value, const Labels& labels = Labels());
	void sample(double value, const Labels& labels = Labels());
		/// A sample of the current counter or gauge family.

	void sample(const Histogram::Snapshot& snapshot, const Labels& labels = Labels());
		/// The _bucket, _sum and _count samples of the current histogram family.

	const std::string& text() const;

	static bool validName(const std::string& name);
	static std::string formatValue(double value);
		/// Shortest text that reads back as the same double; +Inf, -Inf, NaN.

private:
	void family(const std::string& name, const char* type, const std::string& help);
	void line(const std::string& name, const Labels& labels, const std::string& value);

	std::string _text;
	std::string _family;
	std::string _type;
};


inline const std::string& Exposition::text() const
{
	return _text;
}

} } // namespace imgate::metrics

#endif // imgate_metrics_Exposition_INCLUDED
