// Test-only IPv4/IPv6 packet construction and parsing for scripted-peer tests of netstack:
// TCP (with options), UDP, ICMP/ICMPv6 echo, fragments, all with correct checksums, and a parser
// that also verifies the checksums of what lwIP emits. Written from RFC 791/8200/793/768/792/4443;
// never used in production code.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/ip_protocol.hpp"

namespace tunless::test::ip {

inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;

// RFC 1071 one's-complement sum, folded; `initial` carries a pseudo-header sum.
std::uint16_t checksum(ByteView data, std::uint32_t initial = 0);

// Wraps a transport payload in an IP header of src's family (IPv4: DF clear, ID `id`).
Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                ByteView transport, std::uint8_t ttl = 64, std::uint16_t id = 1);

struct TcpSegment {
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 65535;  // raw header field (unscaled)
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> wscale;
    bool sack_permitted = false;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sack;  // blocks [left, right), at most 4
    Bytes payload;
};
Bytes tcp_packet(const IpAddress& src, const IpAddress& dst, const TcpSegment& seg);
Bytes udp_packet(const IpAddress& src, const IpAddress& dst, std::uint16_t sport,
                 std::uint16_t dport, ByteView payload);
// ICMP echo request (IPv4 type 8) or ICMPv6 echo request (type 128).
Bytes echo_request(const IpAddress& src, const IpAddress& dst, std::uint16_t ident,
                   std::uint16_t seqno, ByteView payload);
// Splits an IPv4 packet's payload into fragments of at most `chunk` bytes (multiple of 8).
std::vector<Bytes> ipv4_fragments(const Bytes& packet, std::size_t chunk);

struct Parsed {
    int version = 0;
    IpAddress src;
    IpAddress dst;
    std::uint8_t proto = 0;  // transport protocol (after an IPv6 fragment header, if any)
    std::uint8_t ttl = 0;
    bool ip_checksum_ok = true;  // IPv4 header checksum (IPv6 has none)
    bool more_fragments = false;
    std::uint16_t frag_offset = 0;  // bytes
    Bytes transport;                // everything after the IP header(s)
    bool transport_checksum_ok = false;
    // TCP
    TcpSegment tcp;
    // UDP
    std::uint16_t udp_sport = 0;
    std::uint16_t udp_dport = 0;
    Bytes udp_payload;
    // ICMP / ICMPv6
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    std::uint16_t icmp_ident = 0;
    std::uint16_t icmp_seq = 0;
    Bytes icmp_payload;
};
// Parses one packet as lwIP emits it; nullopt if it is not a well-formed IPv4/IPv6 packet.
std::optional<Parsed> parse(ByteView packet);

}  // namespace tunless::test::ip
