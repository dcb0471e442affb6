// IP protocol numbers (IPv4 Protocol / IPv6 Next Header), IANA "Assigned Internet Protocol
// Numbers" registry; only those tunless looks at.
#pragma once

#include <cstdint>

namespace tunless::ipproto {

inline constexpr std::uint8_t kHopByHop = 0;     // IPv6 Hop-by-Hop Options (RFC 8200 §4.3)
inline constexpr std::uint8_t kIcmp4 = 1;        // RFC 792
inline constexpr std::uint8_t kIgmp = 2;         // RFC 1112
inline constexpr std::uint8_t kTcp = 6;          // RFC 9293
inline constexpr std::uint8_t kUdp = 17;         // RFC 768
inline constexpr std::uint8_t kIp6Fragment = 44; // RFC 8200 §4.5
inline constexpr std::uint8_t kIcmp6 = 58;       // RFC 4443
inline constexpr std::uint8_t kTsmp = 99;        // "any private encryption scheme": Tailscale's TSMP
inline constexpr std::uint8_t kSctp = 132;       // RFC 9260
inline constexpr std::uint8_t kReserved = 255;

}  // namespace tunless::ipproto
