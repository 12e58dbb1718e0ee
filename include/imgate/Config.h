//
// Config.h
//
// imgate plugin SDK: reading a plugin's settings with range checks and
// errors that name the key, for Filter::initialize().
//

#ifndef imgate_Config_INCLUDED
#define imgate_Config_INCLUDED

#include "Poco/Exception.h"
#include "Poco/Util/AbstractConfiguration.h"
#include <cstdio>
#include <string>

namespace imgate {
namespace config {

// Header-only, like the rest of the SDK. Each function returns the value of
// key, or defaultValue if key is not set; a value that does not parse or is
// out of range throws Poco::InvalidArgumentException with the text
//   KEY: expected a whole number from MIN to MAX, got "VALUE"
// which the server prints, with the plugin's name and file, before exiting.

inline std::string numberText(double value)
	/// 0.5, 1000000000 (no exponent for whole numbers below 10^15).
{
	char text[32];
	std::snprintf(text, sizeof(text), "%.15g", value);
	return text;
}


inline long integer(const Poco::Util::AbstractConfiguration& config, const std::string& key, long defaultValue, long min, long max)
{
	const std::string expected = key + ": expected a whole number from " + std::to_string(min) + " to " + std::to_string(max);
	long value;
	try
	{
		value = static_cast<long>(config.getInt64(key, defaultValue));
	}
	catch (Poco::SyntaxException&)
	{
		throw Poco::InvalidArgumentException(expected + ", got \"" + config.getString(key, "") + "\"");
	}
	if (value < min || value > max) throw Poco::InvalidArgumentException(expected + ", got " + std::to_string(value));
	return value;
}


inline double number(const Poco::Util::AbstractConfiguration& config, const std::string& key, double defaultValue, double min, double max)
{
	const std::string expected = key + ": expected a number from " + numberText(min) + " to " + numberText(max);
	double value;
	try
	{
		value = config.getDouble(key, defaultValue);
	}
	catch (Poco::SyntaxException&)
	{
		throw Poco::InvalidArgumentException(expected + ", got \"" + config.getString(key, "") + "\"");
	}
	if (!(value >= min && value <= max)) throw Poco::InvalidArgumentException(expected + ", got " + numberText(value));
	return value;
}


inline bool boolean(const Poco::Util::AbstractConfiguration& config, const std::string& key, bool defaultValue)
{
	try
	{
		return config.getBool(key, defaultValue);
	}
	catch (Poco::SyntaxException&)
	{
		throw Poco::InvalidArgumentException(key + ": expected true or false, got \"" + config.getString(key, "") + "\"");
	}
}

} } // namespace imgate::config

#endif // imgate_Config_INCLUDED
