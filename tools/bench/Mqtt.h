//
// Mqtt.h
//
// imgate-bench: the few MQTT 3.1.1 packets the bench speaks to a broker
// (Mosquitto), so that one scenario runs against both servers: CONNECT /
// CONNACK, SUBSCRIBE / SUBACK, PUBLISH (QoS 0 or 1) / PUBACK, PINGREQ / PINGRESP.
//

#ifndef imgate_bench_Mqtt_INCLUDED
#define imgate_bench_Mqtt_INCLUDED

#include <cstdint>
#include <string>

namespace imgate {
namespace bench {
namespace mqtt {

enum Type: std::uint8_t
{
	CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9, PINGREQ = 12, PINGRESP = 13
};


struct Packet
	/// One packet parsed in place: body points into the input.
{
	std::uint8_t type = 0;
	std::uint8_t flags = 0;
	const char* body = nullptr;
	std::size_t length = 0;
};


inline void appendLength(std::string& out, std::size_t length)
{
	do
	{
		std::uint8_t b = static_cast<std::uint8_t>(length % 128);
		length /= 128;
		if (length > 0) b |= 0x80;
		out += static_cast<char>(b);
	}
	while (length > 0);
}


inline void append16(std::string& out, std::uint16_t v)
{
	out += static_cast<char>(v >> 8);
	out += static_cast<char>(v & 0xFF);
}


inline void appendString(std::string& out, const std::string& s)
{
	append16(out, static_cast<std::uint16_t>(s.size()));
	out += s;
}


inline void appendConnect(std::string& out, const std::string& clientId, std::uint16_t keepAliveSeconds)
{
	std::string body;
	appendString(body, "MQTT");
	body += static_cast<char>(4);    // protocol level 3.1.1
	body += static_cast<char>(0x02); // clean session
	append16(body, keepAliveSeconds);
	appendString(body, clientId);
	out += static_cast<char>(CONNECT << 4);
	appendLength(out, body.size());
	out += body;
}


inline void appendSubscribe(std::string& out, std::uint16_t packetId, const std::string& topic, std::uint8_t qos)
{
	std::string body;
	append16(body, packetId);
	appendString(body, topic);
	body += static_cast<char>(qos);
	out += static_cast<char>((SUBSCRIBE << 4) | 0x02);
	appendLength(out, body.size());
	out += body;
}


inline void appendPublish(std::string& out, const std::string& topic, unsigned qos, std::uint16_t packetId, const std::string& payload)
	/// QoS 0 (packetId unused) or 1.
{
	out += static_cast<char>((PUBLISH << 4) | (qos ? 0x02 : 0x00));
	appendLength(out, 2 + topic.size() + (qos ? 2 : 0) + payload.size());
	appendString(out, topic);
	if (qos) append16(out, packetId);
	out += payload;
}


inline void appendPuback(std::string& out, std::uint16_t packetId)
{
	out += static_cast<char>(PUBACK << 4);
	out += static_cast<char>(2);
	append16(out, packetId);
}


inline void appendPingreq(std::string& out)
{
	out += static_cast<char>(PINGREQ << 4);
	out += static_cast<char>(0);
}


inline std::uint16_t read16(const char* p)
{
	return static_cast<std::uint16_t>((static_cast<std::uint8_t>(p[0]) << 8) | static_cast<std::uint8_t>(p[1]));
}


inline int parse(const char* data, std::size_t size, Packet& packet)
	/// The size of the first whole packet in data (packet filled in), 0 if
	/// more input is needed, -1 if the input is not MQTT.
{
	if (size < 2) return 0;
	std::size_t length = 0;
	std::size_t at = 1;
	unsigned shift = 0;
	while (true)
	{
		if (at >= size) return 0;
		const std::uint8_t b = static_cast<std::uint8_t>(data[at++]);
		length |= static_cast<std::size_t>(b & 0x7F) << shift;
		if (!(b & 0x80)) break;
		shift += 7;
		if (shift > 21) return -1;
	}
	if (size - at < length) return 0;
	packet.type = static_cast<std::uint8_t>(data[0]) >> 4;
	packet.flags = static_cast<std::uint8_t>(data[0]) & 0x0F;
	packet.body = data + at;
	packet.length = length;
	return static_cast<int>(at + length);
}

} } } // namespace imgate::bench::mqtt

#endif // imgate_bench_Mqtt_INCLUDED
