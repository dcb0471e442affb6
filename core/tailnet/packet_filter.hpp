// The tailnet packet filter: what a peer may send us, per the control server's PacketFilter
// (tailscale wgengine/filter/filter.go RunIn, runIn4/runIn6, pre; protocol digest §7). The
// wiring calls check_inbound() on every packet WireGuard decrypted from a tailnet peer, before
// lwIP sees it, and note_outbound() on every packet lwIP sends, so UDP replies are let back in.
// Outbound traffic is never filtered. Sans-IO: `now` comes in; bounded memory; no allocation
// per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "core/tailnet/filter_match.hpp"
#include "core/tailnet/filter_rules.hpp"
#include "core/tailnet/udp_flow_table.hpp"

namespace tunless::tailnet {

enum class FilterDropReason : std::uint8_t {
    kTooShort,           // 1-19 bytes (filter.go pre "too short")
    kBadVersion,         // not IPv4 or IPv6
    kMalformed,          // header/length fields inconsistent, transport header cut off
    kUnknownProtocol,    // protocol 0 (IPv6 hop-by-hop) or 255 (pre "unknown proto")
    kOverlapFragment,    // later fragment starting inside the transport header (RFC 1858)
    kMulticast,          // destination multicast
    kLinkLocal,          // destination link-local unicast
    kBlockAll,           // no filter from the control server yet
    kNotForUs,           // destination none of our addresses ("destination not allowed")
    kNoRuleMatched,      // TCP SYN, UDP/SCTP or ICMP that no rule allows
    kProtocolNotAllowed, // other protocol without a rule naming it with all ports
    kCount
};
inline constexpr std::size_t kFilterDropReasonCount =
    static_cast<std::size_t>(FilterDropReason::kCount);

enum class FilterAcceptReason : std::uint8_t {
    kKeepalive,      // empty packet (WireGuard keepalive)
    kFragment,       // a later fragment: nothing to check, the first one was
    kIcmpResponse,   // echo reply or ICMP error
    kIcmpRule,       // other ICMP, some rule allows source -> destination
    kTcpNotSyn,      // TCP segment other than a bare SYN
    kTcpRule,        // TCP SYN a rule allows
    kUdpFlow,        // UDP/SCTP reply to a flow we opened
    kUdpRule,        // UDP/SCTP a rule allows
    kTsmp,           // Tailscale's in-tunnel messages (protocol 99)
    kOtherRule,      // other protocol, a rule names it with all ports
    kCount
};
inline constexpr std::size_t kFilterAcceptReasonCount =
    static_cast<std::size_t>(FilterAcceptReason::kCount);

// Stable snake_case names for logs and status ("not_for_us", "tcp_not_syn", ...).
const char* filter_drop_reason_name(FilterDropReason r) noexcept;
const char* filter_accept_reason_name(FilterAcceptReason r) noexcept;

struct FilterVerdict {
    bool accept = false;
    FilterDropReason drop = FilterDropReason::kCount;        // set when !accept
    FilterAcceptReason why = FilterAcceptReason::kCount;     // set when accept

    static FilterVerdict accepted(FilterAcceptReason r) { return {true, FilterDropReason::kCount, r}; }
    static FilterVerdict dropped(FilterDropReason r) { return {false, r, FilterAcceptReason::kCount}; }
};

struct PacketFilterStats {
    std::array<std::uint64_t, kFilterDropReasonCount> dropped{};
    std::array<std::uint64_t, kFilterAcceptReasonCount> accepted{};
    std::uint64_t flows_recorded = 0;  // outbound UDP/SCTP packets noted

    std::uint64_t drops(FilterDropReason r) const { return dropped[static_cast<std::size_t>(r)]; }
    std::uint64_t accepts(FilterAcceptReason r) const {
        return accepted[static_cast<std::size_t>(r)];
    }
};

class PacketFilter {
public:
    // Blocks everything but keepalives and later fragments (filter.NewAllowNone): the state
    // before the first netmap.
    PacketFilter();
    static PacketFilter block_all() { return PacketFilter(); }

    // A filter enforcing `rules` (see CompiledFilterRules::compile for warnings and errors). An empty
    // list is NOT block_all(): like upstream it still lets replies in (TCP non-SYN, UDP flows,
    // ICMP replies/errors); use it for a netmap whose PacketFilter is present but empty.
    static Result<PacketFilter> compile(const std::vector<FilterRule>& rules,
                                        std::vector<std::string>* warnings = nullptr);

    // Installs new rules (or block-all) keeping the UDP flow table and the counters, so flows
    // survive a netmap update (filter.New's shareStateWith).
    void set_rules(CompiledFilterRules rules);
    void set_block_all();
    bool blocks_all() const { return block_all_; }
    const CompiledFilterRules& rules() const { return rules_; }

    // Our tailnet addresses (as /32, /128) and any subnets we route: inbound packets must be
    // addressed to one of them. Empty (the default) means nothing is for us.
    void set_local_addresses(const std::vector<IpPrefix>& own);

    // Inbound packet from a peer, after WireGuard decryption. Counts the verdict.
    FilterVerdict check_inbound(Instant now, ByteView ip_packet);
    // Outbound packet to a peer: records the reverse of a UDP/SCTP flow (filter.go runOut).
    void note_outbound(Instant now, ByteView ip_packet);

    const PacketFilterStats& stats() const { return stats_; }
    const UdpFlowTable& flows() const { return flows_; }

private:
    FilterVerdict decide(Instant now, ByteView ip_packet);

    CompiledFilterRules rules_;
    bool block_all_ = true;
    AddressSet local_;
    UdpFlowTable flows_;
    PacketFilterStats stats_;
};

}  // namespace tunless::tailnet
