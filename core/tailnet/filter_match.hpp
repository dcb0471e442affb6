// Compiled tailnet filter rules: FilterRule texts (tailcfg.FilterRule, filter_rules.hpp) turned
// into sorted address ranges, port ranges and protocol sets, and the three match questions
// tailscale wgengine/filter/match.go asks of them (match, matchIPsOnly,
// matchProtoAndIPsOnlyIfAllPorts). Address syntax per wgengine/filter/tailcfg.go parseIPSet.
// Built off the hot path by PacketFilter's owner when a netmap brings a new PacketFilter;
// matching never allocates.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/tailnet/filter_rules.hpp"
#include "core/tailnet/ip_packet_view.hpp"

namespace tunless::tailnet {

// Bounds on one compiled rule set (a netmap larger than this is refused as a whole, and the
// caller keeps its previous filter): rules, and address entries (sources plus destinations after
// expansion, "*" counting two) summed over all rules. ~40 bytes per entry, so a few MB at most.
inline constexpr std::size_t kMaxFilterRules = 4096;
inline constexpr std::size_t kMaxFilterAddressEntries = 65536;
// At most this many warning strings are returned; a final one counts the rest.
inline constexpr std::size_t kMaxFilterWarnings = 32;

// A 128-bit address as two big-endian halves, so IPv6 ranges compare as integers.
struct Addr128 {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    auto operator<=>(const Addr128&) const = default;
};

template <typename Key>
struct AddrRange {
    Key first{};
    Key last{};  // inclusive
};

// An inclusive range of one family, as parsed from text.
struct IpRange {
    IpAddress first;
    IpAddress last;
};

// What one address text stands for: one range, or two for "*" (0.0.0.0/0 and ::/0).
struct IpSetRanges {
    std::array<IpRange, 2> ranges{};
    std::size_t count = 0;
};

// Address syntax of SrcIPs / DstPorts[].IP (tailcfg.go parseIPSet): "*", a single IP, a CIDR
// with no host bits, or "a-b" inclusive of one family. "cap:..." is the caller's business (it is
// an error here). Zone ids are refused.
Result<IpSetRanges> parse_ip_set(std::string_view text);

// A set of addresses of both families as sorted, merged, disjoint inclusive ranges.
class AddressSet {
public:
    void add(const IpRange& r);  // same family, first <= last
    void add(const IpPrefix& prefix);
    // Sorts and merges; call once after the last add().
    void finish();

    bool contains(const IpAddress& ip) const;
    bool empty() const { return v4_.empty() && v6_.empty(); }
    std::size_t range_count() const { return v4_.size() + v6_.size(); }

private:
    std::vector<AddrRange<std::uint32_t>> v4_;
    std::vector<AddrRange<Addr128>> v6_;
};

// One destination of a rule: an address range (a prefix, "*" half, or an "a-b" range) + ports.
struct DstRange {
    IpAddress::Family family = IpAddress::Family::kV4;
    Addr128 first;  // IPv4 kept in `lo`
    Addr128 last;
    PortRange ports;
};

struct CompiledRule {
    std::array<std::uint64_t, 4> protos{};  // bit p set = IP protocol p allowed
    AddressSet srcs;
    std::vector<DstRange> dsts;

    bool has_proto(std::uint8_t p) const { return (protos[p >> 6] >> (p & 63)) & 1; }
};

class CompiledFilterRules {
public:
    // An empty set: no rule matches anything.
    CompiledFilterRules() = default;

    // Texts that cannot be parsed, host bits in a CIDR, inverted or mixed-family ranges, and
    // "cap:" sources (node-capability matches need the peers' CapMap, which we do not track)
    // are skipped with one warning each; the rest of the rule stays (tailscale
    // MatchesFromFilterRules returns its partial result with the first error, and the netmap
    // code logs it). Only exceeding kMaxFilterRules / kMaxFilterAddressEntries is an error.
    static Result<CompiledFilterRules> compile(const std::vector<FilterRule>& rules,
                                         std::vector<std::string>* warnings = nullptr);

    // match.go match(): protocol listed, source in Srcs, destination address and port in one
    // entry of Dsts. For TCP SYN, UDP and SCTP.
    bool match(const IpPacketView& p) const;
    // match.go matchIPsOnly(): any rule (whatever its protocols and ports) with the source in
    // Srcs and the destination in its Dsts. For ICMP other than echo replies and errors.
    bool match_ips_only(const IpPacketView& p) const;
    // match.go matchProtoAndIPsOnlyIfAllPorts(): protocol listed, source in Srcs, destination in
    // an entry whose ports are all of 0-65535. For protocols without ports.
    bool match_proto_all_ports(const IpPacketView& p) const;

    std::size_t rule_count() const { return rules_.size(); }

private:
    std::vector<CompiledRule> rules_;
};

}  // namespace tunless::tailnet
