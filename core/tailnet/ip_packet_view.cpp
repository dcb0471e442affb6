#include "core/tailnet/ip_packet_view.hpp"

namespace tunless::tailnet {
namespace {

constexpr std::size_t kIp4HeaderMin = 20;
constexpr std::size_t kIp6Header = 40;
constexpr std::size_t kIp6FragmentHeader = 8;
// net/packet minFragBlks: a later fragment may not start inside "largest IPv4 header + basic TCP
// header" (60 + 20 bytes, in 8-byte blocks), or it could overwrite the ports a first fragment
// showed the filter (RFC 1858 overlapping-fragment attack). Used for both families, as upstream.
constexpr std::uint16_t kMinLaterFragmentBlocks = (60 + 20) / 8;
// net/packet header.go / tsmp.go minimum transport header sizes.
constexpr std::size_t kIcmpHeaderMin = 4;
constexpr std::size_t kIcmpFullHeader = 8;
constexpr std::size_t kIgmpHeaderMin = 8;
constexpr std::size_t kTcpHeaderMin = 20;
constexpr std::size_t kUdpHeader = 8;
constexpr std::size_t kSctpHeaderMin = 12;
constexpr std::size_t kTsmpMin = 7;

// Reads ports/flags/ICMP fields of the transport header `t` (bounded by the IP length) and
// rejects a first fragment too short to hold it (net/packet: "every protocol below MUST check
// that it has at least one entire transport header", against tiny-fragment attacks).
void parse_transport(IpPacketView& v, ByteView t, bool more_fragments) {
    auto need = [&](std::size_t n) {
        if (t.size() >= n) return true;
        v.shape = PacketShape::kMalformed;
        return false;
    };
    const std::uint8_t icmp = v.version == 4 ? ipproto::kIcmp4 : ipproto::kIcmp6;
    if (v.proto == icmp) {
        if (!need(kIcmpHeaderMin)) return;
        v.icmp_type = t[0];
        v.icmp_code = t[1];
        v.icmp_full_header = t.size() >= kIcmpFullHeader;
        return;
    }
    switch (v.proto) {
        case ipproto::kTcp:
            if (!need(kTcpHeaderMin)) return;
            v.src_port = load_be16(t.data());
            v.dst_port = load_be16(t.data() + 2);
            v.tcp_flags = t[13];
            return;
        case ipproto::kUdp:
            if (!need(kUdpHeader)) return;
            v.src_port = load_be16(t.data());
            v.dst_port = load_be16(t.data() + 2);
            return;
        case ipproto::kSctp:
            if (!need(kSctpHeaderMin)) return;
            v.src_port = load_be16(t.data());
            v.dst_port = load_be16(t.data() + 2);
            return;
        case ipproto::kTsmp:
            // TSMP is accepted without rules, so it must never arrive in pieces (decode4
            // "strictly disallow fragmented TSMP"; we apply it to IPv6 too).
            if (more_fragments) {
                v.shape = PacketShape::kMalformed;
                return;
            }
            (void)need(kTsmpMin);
            return;
        case ipproto::kIgmp:
            if (v.version == 4) (void)need(kIgmpHeaderMin);
            return;
        case ipproto::kHopByHop:
        case ipproto::kReserved:
            v.shape = PacketShape::kUnknownProtocol;
            return;
        default:
            return;  // a protocol without ports: rules match it by address only
    }
}

void parse_v4(IpPacketView& v, ByteView p) {
    const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0F) * 4;
    const std::size_t total = load_be16(p.data() + 2);
    if (ihl < kIp4HeaderMin || total < ihl || total > p.size()) return;  // kMalformed
    v.version = 4;
    v.proto = p[9];
    v.src = IpAddress::v4_bytes(p.data() + 12);
    v.dst = IpAddress::v4_bytes(p.data() + 16);
    const std::uint16_t frag = load_be16(p.data() + 6);
    const bool more_fragments = (frag & 0x2000) != 0;
    const std::uint16_t offset_blocks = frag & 0x1FFF;
    if (offset_blocks != 0) {
        v.shape = offset_blocks < kMinLaterFragmentBlocks ? PacketShape::kOverlapFragment
                                                          : PacketShape::kLaterFragment;
        return;
    }
    v.shape = PacketShape::kComplete;
    parse_transport(v, p.subspan(ihl, total - ihl), more_fragments);
}

// Only the base header and an immediately following Fragment header are understood, like
// net/packet decode6: other extension headers (routing 43, destination options 60, AH, ESP)
// surface as the protocol number itself, so only a rule naming that protocol with all ports
// can admit them; hop-by-hop (0) is "unknown" and always dropped.
void parse_v6(IpPacketView& v, ByteView p) {
    if (p.size() < kIp6Header) return;
    const std::size_t total = kIp6Header + load_be16(p.data() + 4);
    if (total > p.size()) return;
    v.version = 6;
    v.proto = p[6];
    v.src = IpAddress::v6_bytes(p.data() + 8);
    v.dst = IpAddress::v6_bytes(p.data() + 24);
    std::size_t sub = kIp6Header;
    bool more_fragments = false;
    if (v.proto == ipproto::kIp6Fragment) {
        if (total < sub + kIp6FragmentHeader) return;
        const std::uint16_t field = load_be16(p.data() + sub + 2);
        const std::uint16_t offset_blocks = field >> 3;
        more_fragments = (field & 1) != 0;
        v.proto = p[sub];
        sub += kIp6FragmentHeader;
        if (offset_blocks != 0) {
            v.shape = offset_blocks < kMinLaterFragmentBlocks ? PacketShape::kOverlapFragment
                                                              : PacketShape::kLaterFragment;
            return;
        }
    }
    v.shape = PacketShape::kComplete;
    parse_transport(v, p.subspan(sub, total - sub), more_fragments);
}

}  // namespace

IpPacketView parse_ip_packet(ByteView packet) {
    IpPacketView v;
    if (packet.size() < kIp4HeaderMin) return v;
    switch (packet[0] >> 4) {
        case 4: parse_v4(v, packet); break;
        case 6: parse_v6(v, packet); break;
        default: v.shape = PacketShape::kBadVersion; break;
    }
    return v;
}

}  // namespace tunless::tailnet
