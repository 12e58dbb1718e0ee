//
// SettingKey.cpp
//
// Layer: app
//

#include "server/app/SettingKey.h"
#include "server/app/Settings.h"

namespace imgate {
namespace app {

SettingKey::Member::~Member()
{
}


SettingValue SettingKey::get(const Settings& settings) const
{
	return pMember->get(settings);
}


void SettingKey::set(Settings& settings, const SettingValue& value) const
{
	pMember->set(settings, value);
}


void SettingKey::copy(const Settings& from, Settings& to) const
{
	pMember->set(to, pMember->get(from));
}


std::string SettingKey::text(const Settings& settings) const
{
	const SettingValue v = get(settings);
	switch (type)
	{
	case INT:
		return std::to_string(v.number);
	case BOOL:
		return v.flag ? "true" : "false";
	case LIST:
		{
			std::string joined;
			for (const auto& item: v.items) joined += (joined.empty() ? "" : ", ") + item;
			return joined;
		}
	default:
		return v.text;
	}
}

} } // namespace imgate::app
