#include "core/wg/inner_ip.hpp"

namespace tunless::wg {

namespace {
constexpr std::size_t kIpv4HeaderLen = 20;
constexpr std::size_t kIpv6HeaderLen = 40;
constexpr std::size_t kIpv4TotalLen = 2;   // RFC 791
constexpr std::size_t kIpv4Src = 12;
constexpr std::size_t kIpv4Dst = 16;
constexpr std::size_t kIpv6PayloadLen = 4;  // RFC 8200
constexpr std::size_t kIpv6Src = 8;
constexpr std::size_t kIpv6Dst = 24;
}  // namespace

std::optional<InnerIp> parse_inner_ip(ByteView p) {
    if (p.empty()) return std::nullopt;
    const std::uint8_t version = p[0] >> 4;
    if (version == 4) {
        if (p.size() < kIpv4HeaderLen) return std::nullopt;
        const std::size_t ihl = std::size_t{p[0] & 0x0fu} * 4;
        const std::size_t total = load_be16(p.data() + kIpv4TotalLen);
        if (ihl < kIpv4HeaderLen || total < ihl || total > p.size()) return std::nullopt;
        return InnerIp{total, IpAddress::v4_bytes(p.data() + kIpv4Src),
                       IpAddress::v4_bytes(p.data() + kIpv4Dst)};
    }
    if (version == 6) {
        if (p.size() < kIpv6HeaderLen) return std::nullopt;
        const std::size_t total = kIpv6HeaderLen + load_be16(p.data() + kIpv6PayloadLen);
        if (total > p.size()) return std::nullopt;
        return InnerIp{total, IpAddress::v6_bytes(p.data() + kIpv6Src),
                       IpAddress::v6_bytes(p.data() + kIpv6Dst)};
    }
    return std::nullopt;
}

}  // namespace tunless::wg
