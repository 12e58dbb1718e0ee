//
// Exposition.cpp
//
// Layer: metrics
//

#include "server/metrics/Exposition.h"
#include "Poco/Bugcheck.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace imgate {
namespace metrics {

const std::string Exposition::CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";


bool Exposition::validName(const std::string& name)
{
	if (name.empty()) return false;
	for (std::size_t i = 0; i < name.size(); ++i)
	{
		const char c = name[i];
		const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
	}
	return true;
}


std::string Exposition::formatValue(double value)
{
	if (std::isnan(value)) return "NaN";
	if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
	char buffer[32];
	// The shortest of %.15g .. %.17g that reads back exactly.
	for (int precision = 15; precision <= 17; ++precision)
	{
		std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
		if (std::strtod(buffer, nullptr) == value) break;
	}
	return buffer;
}


void Exposition::family(const std::string& name, const char* type, const std::string& help)
{
	poco_assert (validName(name));
	_family = name;
	_type = type;
	_text += "# HELP " + name + " ";
	for (char c: help)
	{
		if (c == '\\') _text += "\\\\";
		else if (c == '\n') _text += "\\n";
		else _text += c;
	}
	_text += "\n# TYPE " + name + " " + type + "\n";
}


void Exposition::counter(const std::string& name, const std::string& help)
{
	poco_assert (name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0);
	family(name, "counter", help);
}


void Exposition::gauge(const std::string& name, const std::string& help)
{
	family(name, "gauge", help);
}


void Exposition::histogram(const std::string& name, const std::string& help)
{
	family(name, "histogram", help);
}


void Exposition::line(const std::string& name, const Labels& labels, const std::string& value)
{
	_text += name;
	if (!labels.empty())
	{
		_text += '{';
		for (std::size_t i = 0; i < labels.size(); ++i)
		{
			poco_assert (validName(labels[i].first));
			if (i) _text += ',';
			_text += labels[i].first;
			_text += "=\"";
			for (char c: labels[i].second)
			{
				if (c == '\\') _text += "\\\\";
				else if (c == '"') _text += "\\\"";
				else if (c == '\n') _text += "\\n";
				else _text += c;
			}
			_text += '"';
		}
		_text += '}';
	}
	_text += ' ';
	_text += value;
	_text += '\n';
}


void Exposition::sample(Poco::UInt64 value, const Labels& labels)
{
	poco_assert (_type == "counter" || _type == "gauge");
	line(_family, labels, std::to_string(value));
}


void Exposition::sample(Poco::Int64 value, const Labels& labels)
{
	poco_assert (_type == "gauge");
	line(_family, labels, std::to_string(value));
}


void Exposition::sample(double value, const Labels& labels)
{
	poco_assert (_type == "counter" || _type == "gauge");
	line(_family, labels, formatValue(value));
}


void Exposition::sample(const Histogram::Snapshot& snapshot, const Labels& labels)
{
	poco_assert (_type == "histogram");
	for (std::size_t i = 0; i <= snapshot.bounds.size(); ++i)
	{
		Labels withLe = labels;
		withLe.emplace_back("le", i < snapshot.bounds.size() ? formatValue(snapshot.bounds[i]) : "+Inf");
		line(_family + "_bucket", withLe, std::to_string(snapshot.cumulative[i]));
	}
	line(_family + "_sum", labels, formatValue(snapshot.sum));
	line(_family + "_count", labels, std::to_string(snapshot.count));
}

} } // namespace imgate::metrics
