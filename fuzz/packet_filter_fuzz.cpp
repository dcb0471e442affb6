// packet_filter_fuzz: arbitrary IP packets through the tailnet packet filter (a fixed rule set
// and local addresses; a fresh PacketFilter per input, so nothing carries over).
//
// Input: [flags u8][out_len u8][outbound packet: out_len bytes][inbound packet: the rest]
//   flags bit 0: note_outbound(outbound packet) before the inbound check
//   flags bit 1: also check the outbound packet mirrored (addresses and ports swapped), i.e. the
//                reply to it
//   flags bit 2: the filter is block_all() instead of the rule set
//   flags bits 4-7: minutes between the outbound note and the inbound checks
// Oracles: verdict reasons are in range and counted exactly once; empty -> keepalive, 1-19
// bytes -> too_short; parse_ip_packet reports ports only for TCP/UDP/SCTP; the flow table stays
// within its capacity; the reply to a noted outbound UDP/SCTP packet from one of our addresses
// is accepted while the flow is fresh (and never under block_all).
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/tailnet/packet_filter.hpp"
#include "fuzz/fuzz_input.hpp"

namespace {

using namespace tunless;
using namespace tunless::tailnet;
using namespace tunless::fuzz;

NetPortRange dst(const char* ip, std::uint16_t first, std::uint16_t last) {
    return NetPortRange{ip, PortRange{first, last}};
}

const std::vector<FilterRule>& rules() {
    static const std::vector<FilterRule> r = {
        {{"100.64.0.2", "fd7a:115c:a1e0::2"}, {dst("100.64.0.1", 22, 22), dst("fd7a:115c:a1e0::1", 22, 22)}, {}, false},
        {{"*"}, {dst("*", 443, 443)}, {6, 17, 132}, false},
        {{"100.64.0.10-100.64.0.20", "fd7a::/16"}, {dst("10.1.0.0/16", 0, 65535)}, {}, false},
        {{"0.0.0.0/0"}, {dst("100.64.0.1", 0, 65535)}, {47, 116}, false},
        {{"::/0"}, {dst("fd7a:115c:a1e0::1", 0, 65535)}, {60, 116}, false},
        {{"cap:skipped"}, {dst("100.64.0.1", 80, 80)}, {}, false},
    };
    return r;
}

std::vector<IpPrefix> locals() {
    return {*IpPrefix::parse("100.64.0.1/32"), *IpPrefix::parse("fd7a:115c:a1e0::1/128"),
            *IpPrefix::parse("10.1.0.0/16")};
}

bool is_local(const IpAddress& a) {
    for (const IpPrefix& p : locals()) {
        if (p.address().family() == a.family() && p.contains(a)) return true;
    }
    return false;
}

// Swaps source/destination addresses and ports of a complete TCP/UDP/SCTP packet in place.
bool mirror(Bytes& b) {
    const IpPacketView v = parse_ip_packet(b);
    if (!v.ok() || (v.proto != ipproto::kUdp && v.proto != ipproto::kSctp)) return false;
    std::size_t addr = 12, len = 4, transport = static_cast<std::size_t>(b[0] & 0x0F) * 4;
    if (v.version == 6) {
        addr = 8;
        len = 16;
        transport = b[6] == ipproto::kIp6Fragment ? 48 : 40;
    }
    for (std::size_t i = 0; i < len; ++i) std::swap(b[addr + i], b[addr + len + i]);
    std::swap(b[transport], b[transport + 2]);
    std::swap(b[transport + 1], b[transport + 3]);
    return true;
}

void check_verdict(const FilterVerdict& v, ByteView packet) {
    if (v.accept) {
        check(v.why < FilterAcceptReason::kCount, "accept reason in range");
    } else {
        check(v.drop < FilterDropReason::kCount, "drop reason in range");
    }
    if (packet.empty()) check(v.accept && v.why == FilterAcceptReason::kKeepalive, "keepalive");
    if (!packet.empty() && packet.size() < 20) {
        check(!v.accept && v.drop == FilterDropReason::kTooShort, "too short");
    }
}

void check_view(ByteView packet) {
    const IpPacketView v = parse_ip_packet(packet);
    if (v.ok()) check(v.version == 4 || v.version == 6, "complete packet has a version");
    const bool ported = v.proto == ipproto::kTcp || v.proto == ipproto::kUdp || v.proto == ipproto::kSctp;
    if (!ported) check(v.src_port == 0 && v.dst_port == 0, "ports only for TCP/UDP/SCTP");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(ByteView(data, size));
    const std::uint8_t flags = in.u8();
    const std::size_t out_len = in.u8();
    ExactCopy out_packet(in.bytes(out_len));
    ExactCopy in_packet(in.rest());

    PacketFilter filter;
    if ((flags & 4) == 0) {
        auto compiled = PacketFilter::compile(rules());
        check(compiled.has_value(), "fixed rules compile");
        filter = std::move(*compiled);
    }
    filter.set_local_addresses(locals());

    const Instant t0 = Instant{} + std::chrono::hours(1);
    const Instant now = t0 + std::chrono::minutes(flags >> 4);
    check_view(out_packet.view());
    check_view(in_packet.view());
    if (flags & 1) filter.note_outbound(t0, out_packet.view());
    check(filter.flows().size() <= filter.flows().capacity(), "flow table bounded");

    std::uint64_t checks = 0;
    const FilterVerdict v = filter.check_inbound(now, in_packet.view());
    check_verdict(v, in_packet.view());
    ++checks;

    if (flags & 2) {
        Bytes reply(out_packet.view().begin(), out_packet.view().end());
        const IpPacketView sent = parse_ip_packet(reply);
        if (mirror(reply)) {
            const FilterVerdict r = filter.check_inbound(now, reply);
            check_verdict(r, reply);
            ++checks;
            if (filter.blocks_all()) check(!r.accept || r.why == FilterAcceptReason::kFragment, "block all");
            const bool fresh = (flags >> 4) <= 5;
            if ((flags & 1) && !filter.blocks_all() && fresh && is_local(sent.src) &&
                filter.stats().flows_recorded > 0) {
                check(r.accept, "reply to a noted flow accepted");
            }
        }
    }

    std::uint64_t counted = 0;
    for (std::uint64_t n : filter.stats().dropped) counted += n;
    for (std::uint64_t n : filter.stats().accepted) counted += n;
    check(counted == checks, "every verdict counted once");
    return 0;
}
