#include "core/tailnet/packet_filter.hpp"

#include <cstring>
#include <utility>

namespace tunless::tailnet {
namespace {

// IPv4-mapped IPv6 destinations are judged as the IPv4 address they carry (Go netip's
// IsMulticast / IsLinkLocalUnicast unmap first).
bool is_multicast(const IpAddress& ip) {
    const IpAddress a = ip.unmap_v4();
    return a.is_v4() ? (a.data()[0] & 0xF0) == 0xE0 : a.data()[0] == 0xFF;
}

bool is_link_local_unicast(const IpAddress& ip) {
    const IpAddress a = ip.unmap_v4();
    if (a.is_v4()) return a.data()[0] == 169 && a.data()[1] == 254;
    return a.data()[0] == 0xFE && (a.data()[1] & 0xC0) == 0x80;
}

// filter.go isAllowedLinkLocal: the GCP metadata DNS server 169.254.169.254 is exempt from the
// link-local drop (it still has to be one of our local addresses or routes).
bool is_allowed_link_local(const IpAddress& ip) {
    return ip.is_v4() && ip.v4_host_order() == 0xA9FEA9FEU;
}

// net/packet IsEchoResponse / IsError (icmp4.go, icmp6.go types). Upstream lists ICMPv4
// "parameter problem" as 0x12; RFC 792 says 12, which is what we accept.
bool is_icmp_response_or_error(const IpPacketView& p) {
    if (!p.icmp_full_header) return false;
    if (p.version == 4) {
        if (p.icmp_type == 0) return p.icmp_code == 0;  // echo reply
        return p.icmp_type == 3 || p.icmp_type == 11 || p.icmp_type == 12;
    }
    if (p.icmp_type == 129) return p.icmp_code == 0;  // echo reply
    return p.icmp_type >= 1 && p.icmp_type <= 4;      // unreachable, too big, time, param
}

FlowKey flow_key(const IpPacketView& p, bool reversed) {
    FlowKey k;
    k.proto = p.proto;
    k.version = p.version;
    const IpAddress& src = reversed ? p.dst : p.src;
    const IpAddress& dst = reversed ? p.src : p.dst;
    std::memcpy(k.src.data(), src.data(), src.size());
    std::memcpy(k.dst.data(), dst.data(), dst.size());
    k.src_port = reversed ? p.dst_port : p.src_port;
    k.dst_port = reversed ? p.src_port : p.dst_port;
    return k;
}

bool is_flow_tracked(std::uint8_t proto) {
    return proto == ipproto::kUdp || proto == ipproto::kSctp;
}

// filter.go pre(): the direction-agnostic part. `decided` is false when the packet goes on to
// the destination and per-protocol checks.
struct PreResult {
    bool decided = false;
    FilterVerdict verdict;
};

PreResult pre(ByteView packet, const IpPacketView& p) {
    if (packet.empty()) return {true, FilterVerdict::accepted(FilterAcceptReason::kKeepalive)};
    if (packet.size() < 20) return {true, FilterVerdict::dropped(FilterDropReason::kTooShort)};
    switch (p.shape) {
        case PacketShape::kBadVersion:
            return {true, FilterVerdict::dropped(FilterDropReason::kBadVersion)};
        case PacketShape::kMalformed:
            return {true, FilterVerdict::dropped(FilterDropReason::kMalformed)};
        case PacketShape::kUnknownProtocol:
            return {true, FilterVerdict::dropped(FilterDropReason::kUnknownProtocol)};
        case PacketShape::kOverlapFragment:
            return {true, FilterVerdict::dropped(FilterDropReason::kOverlapFragment)};
        case PacketShape::kComplete:
        case PacketShape::kLaterFragment:
            break;
    }
    if (is_multicast(p.dst)) return {true, FilterVerdict::dropped(FilterDropReason::kMulticast)};
    if (is_link_local_unicast(p.dst) && !is_allowed_link_local(p.dst)) {
        return {true, FilterVerdict::dropped(FilterDropReason::kLinkLocal)};
    }
    // Later fragments carry no ports; the first fragment was checked like a whole packet and
    // the receiving stack discards fragments whose first piece never arrived.
    if (p.shape == PacketShape::kLaterFragment) {
        return {true, FilterVerdict::accepted(FilterAcceptReason::kFragment)};
    }
    return {};
}

}  // namespace

const char* filter_drop_reason_name(FilterDropReason r) noexcept {
    switch (r) {
        case FilterDropReason::kTooShort: return "too_short";
        case FilterDropReason::kBadVersion: return "bad_version";
        case FilterDropReason::kMalformed: return "malformed";
        case FilterDropReason::kUnknownProtocol: return "unknown_protocol";
        case FilterDropReason::kOverlapFragment: return "overlap_fragment";
        case FilterDropReason::kMulticast: return "multicast";
        case FilterDropReason::kLinkLocal: return "link_local";
        case FilterDropReason::kBlockAll: return "block_all";
        case FilterDropReason::kNotForUs: return "not_for_us";
        case FilterDropReason::kNoRuleMatched: return "no_rule_matched";
        case FilterDropReason::kProtocolNotAllowed: return "protocol_not_allowed";
        case FilterDropReason::kCount: break;
    }
    return "unknown";
}

const char* filter_accept_reason_name(FilterAcceptReason r) noexcept {
    switch (r) {
        case FilterAcceptReason::kKeepalive: return "keepalive";
        case FilterAcceptReason::kFragment: return "fragment";
        case FilterAcceptReason::kIcmpResponse: return "icmp_response";
        case FilterAcceptReason::kIcmpRule: return "icmp_rule";
        case FilterAcceptReason::kTcpNotSyn: return "tcp_not_syn";
        case FilterAcceptReason::kTcpRule: return "tcp_rule";
        case FilterAcceptReason::kUdpFlow: return "udp_flow";
        case FilterAcceptReason::kUdpRule: return "udp_rule";
        case FilterAcceptReason::kTsmp: return "tsmp";
        case FilterAcceptReason::kOtherRule: return "other_rule";
        case FilterAcceptReason::kCount: break;
    }
    return "unknown";
}

PacketFilter::PacketFilter() = default;

Result<PacketFilter> PacketFilter::compile(const std::vector<FilterRule>& rules,
                                           std::vector<std::string>* warnings) {
    auto set = CompiledFilterRules::compile(rules, warnings);
    if (!set) return set.error();
    PacketFilter f;
    f.set_rules(std::move(*set));
    return f;
}

void PacketFilter::set_rules(CompiledFilterRules rules) {
    rules_ = std::move(rules);
    block_all_ = false;
}

void PacketFilter::set_block_all() {
    rules_ = CompiledFilterRules();
    block_all_ = true;
}

void PacketFilter::set_local_addresses(const std::vector<IpPrefix>& own) {
    AddressSet local;
    for (const IpPrefix& p : own) local.add(p);
    local.finish();
    local_ = std::move(local);
}

FilterVerdict PacketFilter::check_inbound(Instant now, ByteView ip_packet) {
    const FilterVerdict v = decide(now, ip_packet);
    if (v.accept) {
        ++stats_.accepted[static_cast<std::size_t>(v.why)];
    } else {
        ++stats_.dropped[static_cast<std::size_t>(v.drop)];
    }
    return v;
}

FilterVerdict PacketFilter::decide(Instant now, ByteView ip_packet) {
    const IpPacketView p = parse_ip_packet(ip_packet);
    if (const PreResult r = pre(ip_packet, p); r.decided) return r.verdict;
    if (block_all_) return FilterVerdict::dropped(FilterDropReason::kBlockAll);
    // A compromised peer could ask us to forward to addresses we never advertised.
    if (!local_.contains(p.dst)) return FilterVerdict::dropped(FilterDropReason::kNotForUs);

    const std::uint8_t icmp = p.version == 4 ? ipproto::kIcmp4 : ipproto::kIcmp6;
    if (p.proto == icmp) {
        if (is_icmp_response_or_error(p)) {
            return FilterVerdict::accepted(FilterAcceptReason::kIcmpResponse);
        }
        if (rules_.match_ips_only(p)) return FilterVerdict::accepted(FilterAcceptReason::kIcmpRule);
        return FilterVerdict::dropped(FilterDropReason::kNoRuleMatched);
    }
    switch (p.proto) {
        case ipproto::kTcp:
            // Only a bare SYN opens a connection; everything else belongs to one that a SYN
            // opened (ours outbound, or one a rule allowed), so it passes statelessly.
            if ((p.tcp_flags & (kTcpSyn | kTcpAck)) != kTcpSyn) {
                return FilterVerdict::accepted(FilterAcceptReason::kTcpNotSyn);
            }
            if (rules_.match(p)) return FilterVerdict::accepted(FilterAcceptReason::kTcpRule);
            return FilterVerdict::dropped(FilterDropReason::kNoRuleMatched);
        case ipproto::kUdp:
        case ipproto::kSctp:
            if (flows_.lookup(now, flow_key(p, false))) {
                return FilterVerdict::accepted(FilterAcceptReason::kUdpFlow);
            }
            if (rules_.match(p)) return FilterVerdict::accepted(FilterAcceptReason::kUdpRule);
            return FilterVerdict::dropped(FilterDropReason::kNoRuleMatched);
        case ipproto::kTsmp:
            return FilterVerdict::accepted(FilterAcceptReason::kTsmp);
        default:
            if (rules_.match_proto_all_ports(p)) {
                return FilterVerdict::accepted(FilterAcceptReason::kOtherRule);
            }
            return FilterVerdict::dropped(FilterDropReason::kProtocolNotAllowed);
    }
}

void PacketFilter::note_outbound(Instant now, ByteView ip_packet) {
    const IpPacketView p = parse_ip_packet(ip_packet);
    // RunOut records flows only for packets pre() leaves undecided (no multicast, no fragments).
    if (pre(ip_packet, p).decided || !is_flow_tracked(p.proto)) return;
    flows_.record(now, flow_key(p, true));
    ++stats_.flows_recorded;
}

}  // namespace tunless::tailnet
