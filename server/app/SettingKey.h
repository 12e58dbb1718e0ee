//
// SettingKey.h
//
// Layer: app
// One row of the settings table: a key's name, type, bounds, default,
// whether a reload applies it, and the member its value lands in. The rows
// (Settings::schema()) drive loading, the defaults, Settings::values(), the
// reload merge and the documentation check. Redis' standardConfig table in
// config.c is the model.
//

#ifndef imgate_app_SettingKey_INCLUDED
#define imgate_app_SettingKey_INCLUDED

#include "Poco/Types.h"
#include <memory>
#include <string>
#include <vector>

namespace imgate {
namespace app {

class Settings;


struct SettingValue
	/// A setting's value on its way between the file, the member it lands
	/// in and Settings::values(). Only the field of the key's type is used.
{
	Poco::Int64 number = 0;          /// INT
	bool flag = false;               /// BOOL
	std::string text;                /// STRING, ADDRESS, CHOICE
	std::vector<std::string> items;  /// LIST
};


struct SettingKey
	/// One row of the schema. Rows are made only by the factories beside
	/// the table in Settings.cpp, which take the member as a pointer to
	/// member and check at compile time that it has the row's type and that
	/// only a key landing in Settings::session (the session::SessionConfig
	/// that Server::reload hands to the running sessions) is reloadable.
{
	enum Type
	{
		INT,      /// A whole number from min to max.
		BOOL,     /// true/false, yes/no, on/off, 1/0.
		STRING,   /// Any text (trimmed).
		ADDRESS,  /// An IPv4 or IPv6 address.
		CHOICE,   /// One of choices.
		LIST      /// Comma-separated items.
	};

	using Derive = std::string (*)(const Settings& above);
		/// A default computed from the keys above this one in the table,
		/// as it would be written in a file.

	class Member
		/// Reads and writes the member a key's value lands in.
	{
	public:
		virtual ~Member();
		virtual SettingValue get(const Settings& settings) const = 0;
		virtual void set(Settings& settings, const SettingValue& value) const = 0;
	};

	const char* name = "";
	Type type = STRING;
	const char* defaultValue = "";  /// As written in a file; "" if empty or derived.
	Derive derive = nullptr;        /// Computes the default instead of defaultValue.
	Poco::Int64 min = 0;            /// INT only.
	Poco::Int64 max = 0;            /// INT only.
	const char* choices = nullptr;  /// CHOICE only: '|'-separated.
	bool reloadable = false;        /// Applied by a reload (SIGHUP) without restart.
	bool inSession = false;         /// Lands in Settings::session.
	const char* description = "";
	std::shared_ptr<const Member> pMember;
		/// Where the value lands. Shared: the table's rows are copies.

	SettingValue get(const Settings& settings) const;
		/// This key's value in settings.

	void set(Settings& settings, const SettingValue& value) const;
		/// Sets this key's value in settings.

	void copy(const Settings& from, Settings& to) const;
		/// This key's value in to becomes its value in from.

	std::string text(const Settings& settings) const;
		/// This key's value in settings as written in a file (a list
		/// joined with ", ").
};


struct SettingRule
	/// A condition between keys (or on one key beyond its type), checked
	/// after every key is read and again on the settings a reload would run.
{
	const char* key;    /// Named in the error when the file sets it (or other is null).
	const char* other;  /// Named instead when the file does not set key; may be null.
	std::string (*problem)(const Settings& settings);
		/// What is wrong with settings, or "" if the condition holds.
};

} } // namespace imgate::app

#endif // imgate_app_SettingKey_INCLUDED
