// tailcfg.FilterRule as it arrives in MapResponse.PacketFilter(s): plain data, parsed from JSON
// by tailcfg.cpp and compiled into a matcher by packet_filter.cpp. Address and port texts are
// kept verbatim here because their syntax ("*", CIDR, single IP, "a-b" ranges, "cap:...")
// belongs to the filter's semantics (tailscale wgengine/filter/tailcfg.go).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tunless::tailnet {

struct PortRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;  // inclusive
    bool operator==(const PortRange&) const = default;
};

struct NetPortRange {
    std::string ip;  // "*", "100.64.0.1", "100.64.0.0/10", "fd7a:115c:a1e0::/48", "a-b"
    PortRange ports;
    bool operator==(const NetPortRange&) const = default;
};

struct FilterRule {
    std::vector<std::string> src_ips;     // SrcIPs
    std::vector<NetPortRange> dst_ports;  // DstPorts
    std::vector<int> ip_proto;            // IPProto; empty = TCP, UDP, ICMPv4, ICMPv6
    bool has_cap_grant = false;           // CapGrant present: application caps, no network access
    bool operator==(const FilterRule&) const = default;
};

}  // namespace tunless::tailnet
