// The few facts the tailnet packet filter needs from one IPv4/IPv6 packet: version, protocol,
// addresses, ports, TCP flags, ICMP type/code, and whether it is a later fragment. Modelled on
// tailscale net/packet (Parsed.Decode, decode4, decode6, decode6Fragment), but every bound is
// taken from the length the IP header declares, not from the buffer. Used by packet_filter.cpp
// on decrypted inbound packets and on outbound packets (UDP flow tracking). Never allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/ip_protocol.hpp"

namespace tunless::tailnet {

// Protocol numbers: core/base/ip_protocol.hpp. tailscale net/packet also uses 0 as "Unknown"
// and 255 as its internal "Fragment" marker.

enum class PacketShape : std::uint8_t {
    kComplete,          // parsed up to the transport header (or an unported protocol)
    kLaterFragment,     // a non-first fragment: no transport header to look at
    kBadVersion,        // first nibble not 4 or 6
    kMalformed,         // header shorter than its fixed part, lengths inconsistent, or the
                        // transport header of a first fragment cut off
    kUnknownProtocol,   // protocol 0 (IPv6 hop-by-hop: extension headers are not walked) or 255
    kOverlapFragment,   // later fragment whose offset lies inside a transport header (RFC 1858)
};

struct IpPacketView {
    PacketShape shape = PacketShape::kMalformed;
    std::uint8_t version = 0;  // 4 or 6 once the fixed header parsed
    std::uint8_t proto = 0;    // transport protocol (past an IPv6 fragment header)
    IpAddress src;
    IpAddress dst;
    std::uint16_t src_port = 0;  // TCP, UDP, SCTP only; else 0
    std::uint16_t dst_port = 0;
    std::uint8_t tcp_flags = 0;
    // ICMP/ICMPv6 type and code; `icmp_full_header` says the 8-byte header is there (net/packet
    // needs it before calling anything an echo reply or an error).
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    bool icmp_full_header = false;

    bool ok() const { return shape == PacketShape::kComplete; }
};

inline constexpr std::uint8_t kTcpSyn = 0x02;
inline constexpr std::uint8_t kTcpAck = 0x10;

// Never fails: malformed input is reported through `shape`.
IpPacketView parse_ip_packet(ByteView packet);

}  // namespace tunless::tailnet
