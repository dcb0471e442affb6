// Tailnet packet filter: semantics of tailscale wgengine/filter/filter.go RunIn/pre/runIn4/6,
// with cases transcribed from filter_test.go (TestFilter, TestUDPState, TestPreFilter,
// TestParseIPSet, TestRunInIPv6FirstFragment, TestMatchesMatchProtoAndIPsOnlyIfAllPorts).
#include "core/tailnet/packet_filter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tunless;
using namespace tunless::tailnet;

namespace {

// --- Small packet builders (no checksums: the filter does not look at them). ---

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

Bytes ip4(const IpAddress& src, const IpAddress& dst, std::uint8_t proto, const Bytes& transport,
          std::uint16_t frag_field = 0, std::size_t options = 0) {
    const std::size_t hlen = 20 + options;
    Bytes b(hlen + transport.size(), 0);
    b[0] = static_cast<std::uint8_t>(0x40 | (hlen / 4));
    store_be16(b.data() + 2, static_cast<std::uint16_t>(b.size()));
    store_be16(b.data() + 6, frag_field);
    b[8] = 64;
    b[9] = proto;
    std::copy(src.data(), src.data() + 4, b.begin() + 12);
    std::copy(dst.data(), dst.data() + 4, b.begin() + 16);
    std::copy(transport.begin(), transport.end(), b.begin() + static_cast<long>(hlen));
    return b;
}

Bytes ip6(const IpAddress& src, const IpAddress& dst, std::uint8_t next, const Bytes& payload) {
    Bytes b(40 + payload.size(), 0);
    b[0] = 0x60;
    store_be16(b.data() + 4, static_cast<std::uint16_t>(payload.size()));
    b[6] = next;
    b[7] = 64;
    std::copy(src.data(), src.data() + 16, b.begin() + 8);
    std::copy(dst.data(), dst.data() + 16, b.begin() + 24);
    std::copy(payload.begin(), payload.end(), b.begin() + 40);
    return b;
}

Bytes ip_any(const char* src, const char* dst, std::uint8_t proto, const Bytes& transport) {
    const IpAddress s = ip(src), d = ip(dst);
    return s.is_v4() ? ip4(s, d, proto, transport) : ip6(s, d, proto, transport);
}

Bytes ports_header(std::size_t len, std::uint16_t sport, std::uint16_t dport) {
    Bytes t(len, 0);
    store_be16(t.data(), sport);
    store_be16(t.data() + 2, dport);
    return t;
}

constexpr std::uint8_t kSyn = 0x02, kAck = 0x10, kRst = 0x04;

Bytes tcp(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport,
          std::uint8_t flags = kSyn) {
    Bytes t = ports_header(20, sport, dport);
    t[12] = 5 << 4;
    t[13] = flags;
    return ip_any(src, dst, ipproto::kTcp, t);
}

Bytes udp(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
    Bytes t = ports_header(8 + 4, sport, dport);
    store_be16(t.data() + 4, 12);
    return ip_any(src, dst, ipproto::kUdp, t);
}

Bytes sctp(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
    return ip_any(src, dst, ipproto::kSctp, ports_header(12, sport, dport));
}

Bytes icmp(const char* src, const char* dst, std::uint8_t type, std::uint8_t code = 0,
           std::size_t len = 8) {
    Bytes t(len, 0);
    t[0] = type;
    if (len > 1) t[1] = code;
    const bool v4 = ip(src).is_v4();
    return ip_any(src, dst, v4 ? ipproto::kIcmp4 : ipproto::kIcmp6, t);
}

Bytes raw_proto(const char* src, const char* dst, std::uint8_t proto, std::size_t len = 16) {
    return ip_any(src, dst, proto, Bytes(len, 0x61));
}

// IPv6 packet whose payload starts with a Fragment header (RFC 8200 §4.5).
Bytes ip6_fragment(const char* src, const char* dst, std::uint8_t next, std::uint16_t offset_blocks,
                   bool more, const Bytes& rest) {
    Bytes payload(8, 0);
    payload[0] = next;
    store_be16(payload.data() + 2, static_cast<std::uint16_t>((offset_blocks << 3) | (more ? 1 : 0)));
    store_be32(payload.data() + 4, 0xdeadbeef);
    payload.insert(payload.end(), rest.begin(), rest.end());
    return ip6(ip(src), ip(dst), ipproto::kIp6Fragment, payload);
}

NetPortRange dst(const char* ip_text, std::uint16_t first, std::uint16_t last) {
    return NetPortRange{ip_text, PortRange{first, last}};
}
NetPortRange dst(const char* ip_text, std::uint16_t port) { return dst(ip_text, port, port); }
NetPortRange dst_all(const char* ip_text) { return dst(ip_text, 0, 65535); }

FilterRule rule(std::vector<std::string> srcs, std::vector<NetPortRange> dsts,
                std::vector<int> protos = {}) {
    FilterRule r;
    r.src_ips = std::move(srcs);
    r.dst_ports = std::move(dsts);
    r.ip_proto = std::move(protos);
    return r;
}

std::vector<IpPrefix> prefixes(std::initializer_list<const char*> texts) {
    std::vector<IpPrefix> out;
    for (const char* t : texts) out.push_back(*IpPrefix::parse(t));
    return out;
}

const Instant kT0 = Instant{} + std::chrono::hours(1);

bool accepts(PacketFilter& f, const Bytes& p, Instant now = kT0) {
    return f.check_inbound(now, p).accept;
}

FilterDropReason drop_reason(PacketFilter& f, const Bytes& p) {
    const FilterVerdict v = f.check_inbound(kT0, p);
    return v.accept ? FilterDropReason::kCount : v.drop;
}

FilterAcceptReason accept_reason(PacketFilter& f, const Bytes& p) {
    const FilterVerdict v = f.check_inbound(kT0, p);
    return v.accept ? v.why : FilterAcceptReason::kCount;
}

// filter_test.go newFilter(): the rule set and local networks TestFilter and TestUDPState use.
// Its last rule grants by node capability ("cap:cap-hit-1234-ssh"), which we skip with a warning.
PacketFilter upstream_filter(std::vector<std::string>* warnings = nullptr) {
    const std::vector<FilterRule> rules = {
        rule({"8.1.1.1", "8.2.2.2"}, {dst("1.2.3.4", 22), dst("5.6.7.8", 23, 24)}),
        rule({"9.1.1.1", "9.2.2.2"}, {dst("1.2.3.4", 22), dst("5.6.7.8", 23, 24)}, {132}),
        rule({"8.1.1.1", "8.2.2.2"}, {dst("5.6.7.8", 27, 28)}),
        rule({"2.2.2.2"}, {dst("8.1.1.1", 22)}),
        rule({"0.0.0.0/0"}, {dst_all("100.122.98.50")}),
        rule({"0.0.0.0/0"}, {dst("0.0.0.0/0", 443)}),
        rule({"153.1.1.1", "153.1.1.2", "153.3.3.3"}, {dst("1.2.3.4", 999)}),
        rule({"::1", "::2"}, {dst("2001::1", 22), dst("2001::2", 22)}),
        rule({"::/0"}, {dst("::/0", 443)}),
        rule({"0.0.0.0/0"}, {dst_all("0.0.0.0/0")}, {116}),
        rule({"::/0"}, {dst_all("::/0")}, {116}),
        rule({"cap:cap-hit-1234-ssh"}, {dst("1.2.3.4", 22)}),
    };
    auto f = PacketFilter::compile(rules, warnings);
    REQUIRE(f);
    f->set_local_addresses(prefixes({"100.122.98.50/32", "1.2.3.4/32", "5.6.7.8/32",
                                     "102.102.102.102/32", "119.119.119.119/32", "8.1.0.0/16",
                                     "2001::/16"}));
    return std::move(*f);
}

}  // namespace

TEST_CASE("packet filter: upstream TestFilter table (TCP SYN and the same as UDP)") {
    std::vector<std::string> warnings;
    PacketFilter f = upstream_filter(&warnings);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("cap:cap-hit-1234-ssh") != std::string::npos);

    struct Case {
        bool want;
        const char* src;
        const char* dst;
        std::uint16_t dport;
    };
    const Case cases[] = {
        {true, "8.1.1.1", "1.2.3.4", 22},        {false, "8.1.1.1", "1.2.3.4", 0},
        {false, "8.1.1.1", "1.2.3.4", 21},       {true, "8.2.2.2", "1.2.3.4", 22},
        {false, "8.2.2.2", "1.2.3.4", 23},       {false, "8.3.3.3", "1.2.3.4", 22},
        {true, "8.1.1.1", "5.6.7.8", 23},        {true, "8.1.1.1", "5.6.7.8", 24},
        {false, "8.1.1.3", "5.6.7.8", 24},       {false, "8.1.1.1", "5.6.7.8", 22},
        {true, "17.34.51.68", "8.1.34.51", 443}, {false, "17.34.51.68", "8.1.34.51", 444},
        {true, "17.34.51.68", "100.122.98.50", 999}, {true, "17.34.51.68", "100.122.98.50", 0},
        {true, "::1", "2001::1", 22},            {true, "::2", "2001::1", 22},
        {true, "::2", "2001::2", 22},            {false, "::1", "2001::1", 23},
        {false, "::1", "2001::3", 22},           {false, "::3", "2001::1", 22},
        {true, "::1", "2001::1", 443},           {false, "::1", "2001::1", 444},
        // localNets prefilter: a rule allows it, but the destination is not ours.
        {false, "8.1.1.1", "16.32.48.64", 443},  {false, "1::", "2602::1", 443},
        // The capability-granted source: upstream accepts 10.0.0.1 (it has the cap); we cannot
        // evaluate capabilities, so both drop.
        {false, "10.0.0.1", "1.2.3.4", 22},      {false, "10.0.0.2", "1.2.3.4", 22},
    };
    for (const Case& c : cases) {
        CAPTURE(c.src);
        CAPTURE(c.dst);
        CAPTURE(c.dport);
        CHECK(accepts(f, tcp(c.src, c.dst, 999, c.dport)) == c.want);
        CHECK(accepts(f, udp(c.src, c.dst, 999, c.dport)) == c.want);
    }
    CHECK(accept_reason(f, icmp("8.1.1.1", "1.2.3.4", 8)) == FilterAcceptReason::kIcmpRule);
    CHECK(accept_reason(f, icmp("::1", "2001::1", 128)) == FilterAcceptReason::kIcmpRule);
    // SCTP only where a rule names protocol 132.
    CHECK_FALSE(accepts(f, sctp("8.1.1.1", "1.2.3.4", 999, 22)));
    CHECK(accepts(f, sctp("9.1.1.1", "1.2.3.4", 999, 22)));
    // A portless protocol is allowed only by a rule naming it with all ports (116, not 127).
    CHECK(accept_reason(f, raw_proto("1.2.3.4", "5.6.7.8", 116)) == FilterAcceptReason::kOtherRule);
    CHECK(accepts(f, raw_proto("2001::1", "2001::2", 116)));
    CHECK(drop_reason(f, raw_proto("1.2.3.4", "5.6.7.8", 127)) ==
          FilterDropReason::kProtocolNotAllowed);
    CHECK_FALSE(accepts(f, raw_proto("2001::1", "2001::2", 127)));
}

TEST_CASE("packet filter: upstream TestUDPState - a reply is accepted only after we sent") {
    PacketFilter f = upstream_filter();
    const Bytes in4 = udp("119.119.119.119", "102.102.102.102", 4242, 4343);
    CHECK(drop_reason(f, in4) == FilterDropReason::kNoRuleMatched);
    f.note_outbound(kT0, udp("102.102.102.102", "119.119.119.119", 4343, 4242));
    CHECK(accept_reason(f, in4) == FilterAcceptReason::kUdpFlow);
    // Another port of the same peer is still closed.
    CHECK_FALSE(accepts(f, udp("119.119.119.119", "102.102.102.102", 4243, 4343)));

    const Bytes in6 = udp("2001::2", "2001::1", 4242, 4343);
    CHECK_FALSE(accepts(f, in6));
    f.note_outbound(kT0, udp("2001::1", "2001::2", 4343, 4242));
    CHECK(accepts(f, in6));
    CHECK(f.stats().flows_recorded == 2);
}

TEST_CASE("packet filter: upstream TestPreFilter and the direction-agnostic checks") {
    PacketFilter f = PacketFilter::compile({}).value();
    f.set_local_addresses(prefixes({"8.8.8.8/32", "100.64.0.1/32", "fd7a::1/128"}));
    CHECK(accept_reason(f, {}) == FilterAcceptReason::kKeepalive);
    CHECK(drop_reason(f, Bytes{'s', 'h', 'o', 'r', 't'}) == FilterDropReason::kTooShort);
    const Bytes whole = udp("8.8.8.8", "8.8.8.8", 53, 53);
    CHECK(drop_reason(f, Bytes(whole.begin(), whole.begin() + 10)) == FilterDropReason::kTooShort);
    // "long-junk": 21 bytes of a packet whose header declares more.
    CHECK(drop_reason(f, Bytes(whole.begin(), whole.begin() + 21)) == FilterDropReason::kMalformed);
    // "fragment": offset 255 blocks, passed whatever the rules (even to a foreign address).
    CHECK(accept_reason(f, ip4(ip("8.8.8.8"), ip("9.9.9.9"), ipproto::kUdp, Bytes(20, 0), 255)) ==
          FilterAcceptReason::kFragment);
    // A later fragment starting inside the transport header is refused (RFC 1858).
    CHECK(drop_reason(f, ip4(ip("8.8.8.8"), ip("8.8.8.8"), ipproto::kUdp, Bytes(20, 0), 9)) ==
          FilterDropReason::kOverlapFragment);
    CHECK(drop_reason(f, ip4(ip("8.8.8.8"), ip("8.8.8.8"), ipproto::kUdp, Bytes(20, 0), 0x2000 | 1)) ==
          FilterDropReason::kOverlapFragment);

    Bytes bad_version = whole;
    bad_version[0] = 0x55;
    CHECK(drop_reason(f, bad_version) == FilterDropReason::kBadVersion);
    Bytes bad_ihl = whole;
    bad_ihl[0] = 0x44;
    CHECK(drop_reason(f, bad_ihl) == FilterDropReason::kMalformed);
    Bytes total_short = whole;
    store_be16(total_short.data() + 2, 19);
    CHECK(drop_reason(f, total_short) == FilterDropReason::kMalformed);
    // Trailing bytes after the declared length are padding, but the transport header must fit
    // inside the declared length.
    Bytes padded = udp("8.8.8.8", "100.64.0.1", 53, 53);
    f.note_outbound(kT0, udp("100.64.0.1", "8.8.8.8", 53, 53));
    padded.resize(padded.size() + 7, 0);
    CHECK(accepts(f, padded));
    store_be16(padded.data() + 2, 20 + 4);
    CHECK(drop_reason(f, padded) == FilterDropReason::kMalformed);
    // First fragment too short for a TCP header (tiny-fragment attack).
    CHECK(drop_reason(f, ip4(ip("8.8.8.8"), ip("100.64.0.1"), ipproto::kTcp, Bytes(12, 0), 0x2000)) ==
          FilterDropReason::kMalformed);
    // IPv6 shorter than its fixed header, or declaring more payload than there is.
    const Bytes v6 = udp("fd7a::2", "fd7a::1", 1, 2);
    CHECK(drop_reason(f, Bytes(v6.begin(), v6.begin() + 39)) == FilterDropReason::kMalformed);
    Bytes v6_long = v6;
    store_be16(v6_long.data() + 4, 100);
    CHECK(drop_reason(f, v6_long) == FilterDropReason::kMalformed);

    CHECK(drop_reason(f, raw_proto("8.8.8.8", "100.64.0.1", 0)) == FilterDropReason::kUnknownProtocol);
    CHECK(drop_reason(f, raw_proto("8.8.8.8", "100.64.0.1", 255)) == FilterDropReason::kUnknownProtocol);
    CHECK(drop_reason(f, udp("8.8.8.8", "224.0.0.251", 5353, 5353)) == FilterDropReason::kMulticast);
    CHECK(drop_reason(f, udp("fd7a::2", "ff02::fb", 5353, 5353)) == FilterDropReason::kMulticast);
    CHECK(drop_reason(f, udp("fd7a::2", "::ffff:224.0.0.1", 1, 2)) == FilterDropReason::kMulticast);
    CHECK(drop_reason(f, udp("8.8.8.8", "169.254.1.2", 1, 2)) == FilterDropReason::kLinkLocal);
    CHECK(drop_reason(f, udp("fd7a::2", "fe80::1", 1, 2)) == FilterDropReason::kLinkLocal);
    // 169.254.169.254 passes the link-local check (filter.go isAllowedLinkLocal) but is not ours.
    CHECK(drop_reason(f, udp("8.8.8.8", "169.254.169.254", 1, 53)) == FilterDropReason::kNotForUs);
    CHECK(f.stats().drops(FilterDropReason::kMulticast) == 3);
    CHECK(f.stats().accepts(FilterAcceptReason::kKeepalive) == 1);
}

TEST_CASE("packet filter: upstream TestRunInIPv6FirstFragment - ports read past the fragment header") {
    PacketFilter f = upstream_filter();
    // udp6FirstFragment: 2001::5 -> [2001::1]:443, offset 0, more fragments.
    const Bytes first =
        ip6_fragment("2001::5", "2001::1", ipproto::kUdp, 0, true, ports_header(16, 1234, 443));
    CHECK(accept_reason(f, first) == FilterAcceptReason::kUdpRule);
    const Bytes first_port_22 =
        ip6_fragment("2001::5", "2001::1", ipproto::kUdp, 0, true, ports_header(16, 1234, 22));
    CHECK_FALSE(accepts(f, first_port_22));
    // udp6NonFirstFragment: offset 185 blocks, no transport header.
    const Bytes later = ip6_fragment("2001::5", "2001::1", ipproto::kUdp, 185, false, Bytes(8, 0x61));
    CHECK(accept_reason(f, later) == FilterAcceptReason::kFragment);
    const Bytes overlap = ip6_fragment("2001::5", "2001::1", ipproto::kUdp, 1, false, Bytes(8, 0));
    CHECK(drop_reason(f, overlap) == FilterDropReason::kOverlapFragment);
    // Fragment header cut off by the declared payload length.
    Bytes cut = ip6(ip("2001::5"), ip("2001::1"), ipproto::kIp6Fragment, Bytes(4, 0));
    CHECK(drop_reason(f, cut) == FilterDropReason::kMalformed);
}

TEST_CASE("packet filter: other IPv6 extension headers are not walked (net/packet decode6)") {
    auto f = PacketFilter::compile({rule({"*"}, {dst_all("*")}, {60})}).value();
    f.set_local_addresses(prefixes({"fd7a::1/128"}));
    // Destination options (60) before UDP: judged as protocol 60, which this rule names.
    CHECK(accept_reason(f, raw_proto("fd7a::2", "fd7a::1", 60)) == FilterAcceptReason::kOtherRule);
    // Routing header (43): no rule names it.
    CHECK(drop_reason(f, raw_proto("fd7a::2", "fd7a::1", 43)) == FilterDropReason::kProtocolNotAllowed);
    // Hop-by-hop (0) is net/packet's "unknown" protocol: always dropped.
    CHECK(drop_reason(f, raw_proto("fd7a::2", "fd7a::1", 0)) == FilterDropReason::kUnknownProtocol);
}

TEST_CASE("packet filter: upstream TestParseIPSet") {
    auto one = [](const char* text) {
        auto r = parse_ip_set(text);
        REQUIRE(r);
        REQUIRE(r->count == 1);
        return std::make_pair(r->ranges[0].first.to_string(), r->ranges[0].last.to_string());
    };
    CHECK(one("8.8.8.8") == std::make_pair(std::string("8.8.8.8"), std::string("8.8.8.8")));
    CHECK(one("1::2") == std::make_pair(std::string("1::2"), std::string("1::2")));
    CHECK(one("8.8.8.0/24") == std::make_pair(std::string("8.8.8.0"), std::string("8.8.8.255")));
    CHECK(one("1.0.0.0-1.255.255.255") ==
          std::make_pair(std::string("1.0.0.0"), std::string("1.255.255.255")));
    CHECK(one("1.0.0.0-2.1.2.3") == std::make_pair(std::string("1.0.0.0"), std::string("2.1.2.3")));
    CHECK(one("fd7a::/48") ==
          std::make_pair(std::string("fd7a::"), std::string("fd7a::ffff:ffff:ffff:ffff:ffff")));
    CHECK(one("0.0.0.0/0").second == "255.255.255.255");
    CHECK(one("::/0").second == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    CHECK_FALSE(parse_ip_set("10.0.0.0/0"));

    auto star = parse_ip_set("*");
    REQUIRE(star);
    REQUIRE(star->count == 2);
    CHECK(star->ranges[0].first.to_string() == "0.0.0.0");
    CHECK(star->ranges[1].last.to_string() == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    CHECK_FALSE(parse_ip_set("8.8.8.8/24"));  // non-network bits set
    CHECK_FALSE(parse_ip_set("1.0.0.2-1.0.0.1"));  // inverted
    CHECK_FALSE(parse_ip_set("1.0.0.1-::2"));  // mixed families
    CHECK_FALSE(parse_ip_set("8.8.8.0/33"));
    CHECK_FALSE(parse_ip_set("8.8.8.0/"));
    CHECK_FALSE(parse_ip_set("8.8.8.0/024"));
    CHECK_FALSE(parse_ip_set("fe80::1%eth0"));
    CHECK_FALSE(parse_ip_set("host.example"));
    CHECK_FALSE(parse_ip_set(""));
    CHECK_FALSE(parse_ip_set("1.2.3.4-5.6.7.8-9.9.9.9"));
    for (const char* cap : {"cap:foo", "cap:people-in-8.8.8.0/24"}) {
        auto r = parse_ip_set(cap);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::kUnsupported);  // "cap:" wins over the "/" search
    }
}

TEST_CASE("packet filter: upstream TestMatchesMatchProtoAndIPsOnlyIfAllPorts") {
    auto all = CompiledFilterRules::compile({rule({"0.0.0.0/0"}, {dst_all("0.0.0.0/0")}, {116})}).value();
    IpPacketView p;
    p.version = 4;
    p.shape = PacketShape::kComplete;
    p.src = ip("1.2.3.4");
    p.dst = ip("5.6.7.8");
    p.proto = 116;
    CHECK(all.match_proto_all_ports(p));
    p.proto = 127;
    CHECK_FALSE(all.match_proto_all_ports(p));
    auto one_port =
        CompiledFilterRules::compile({rule({"0.0.0.0/0"}, {dst("0.0.0.0/0", 12345)}, {116})}).value();
    p.proto = 116;
    CHECK_FALSE(one_port.match_proto_all_ports(p));
}

TEST_CASE("packet filter: block-all before the first netmap, and an empty rule list after") {
    PacketFilter f = PacketFilter::block_all();
    f.set_local_addresses(prefixes({"100.64.0.1/32"}));
    CHECK(f.blocks_all());
    CHECK(accepts(f, {}));
    CHECK(drop_reason(f, tcp("100.64.0.2", "100.64.0.1", 1, 22, kAck)) == FilterDropReason::kBlockAll);
    CHECK(drop_reason(f, icmp("100.64.0.2", "100.64.0.1", 0)) == FilterDropReason::kBlockAll);
    CHECK(drop_reason(f, raw_proto("100.64.0.2", "100.64.0.1", ipproto::kTsmp)) ==
          FilterDropReason::kBlockAll);
    // Outbound flows are still remembered while blocking (RunOut does not consult the rules).
    f.note_outbound(kT0, udp("100.64.0.1", "100.64.0.2", 5000, 53));
    CHECK(drop_reason(f, udp("100.64.0.2", "100.64.0.1", 53, 5000)) == FilterDropReason::kBlockAll);

    // The netmap's PacketFilter is present but empty: replies still come in, nothing opens.
    f.set_rules(CompiledFilterRules::compile({}).value());
    CHECK_FALSE(f.blocks_all());
    CHECK(accept_reason(f, udp("100.64.0.2", "100.64.0.1", 53, 5000)) == FilterAcceptReason::kUdpFlow);
    CHECK(accept_reason(f, tcp("100.64.0.2", "100.64.0.1", 22, 40000, kSyn | kAck)) ==
          FilterAcceptReason::kTcpNotSyn);
    CHECK(accept_reason(f, tcp("100.64.0.2", "100.64.0.1", 22, 40000, kRst)) ==
          FilterAcceptReason::kTcpNotSyn);
    CHECK(drop_reason(f, tcp("100.64.0.2", "100.64.0.1", 40000, 22, kSyn)) ==
          FilterDropReason::kNoRuleMatched);
    CHECK(accept_reason(f, icmp("100.64.0.2", "100.64.0.1", 0)) == FilterAcceptReason::kIcmpResponse);
    CHECK(drop_reason(f, icmp("100.64.0.2", "100.64.0.1", 8)) == FilterDropReason::kNoRuleMatched);
    CHECK(accept_reason(f, raw_proto("100.64.0.2", "100.64.0.1", ipproto::kTsmp)) ==
          FilterAcceptReason::kTsmp);
    CHECK(f.stats().drops(FilterDropReason::kBlockAll) == 4);

    f.set_block_all();
    CHECK(drop_reason(f, tcp("100.64.0.2", "100.64.0.1", 22, 40000, kAck)) == FilterDropReason::kBlockAll);
}

TEST_CASE("packet filter: destination must be one of our addresses or routed subnets") {
    auto f = PacketFilter::compile({rule({"*"}, {dst_all("*")})}).value();
    CHECK(drop_reason(f, tcp("100.64.0.2", "100.64.0.1", 1, 22)) == FilterDropReason::kNotForUs);
    f.set_local_addresses(prefixes({"100.64.0.1/32", "fd7a:115c:a1e0::1/128", "192.168.7.0/24"}));
    CHECK(accepts(f, tcp("100.64.0.2", "100.64.0.1", 1, 22)));
    CHECK(accepts(f, tcp("100.64.0.2", "192.168.7.200", 1, 22)));
    CHECK(accepts(f, tcp("fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 1, 22)));
    CHECK(drop_reason(f, tcp("100.64.0.2", "100.64.0.3", 1, 22)) == FilterDropReason::kNotForUs);
    // Even non-SYN segments and TSMP are refused for an address that is not ours.
    CHECK(drop_reason(f, tcp("100.64.0.2", "192.168.8.1", 1, 22, kAck)) == FilterDropReason::kNotForUs);
    CHECK(drop_reason(f, raw_proto("100.64.0.2", "100.64.0.3", ipproto::kTsmp)) ==
          FilterDropReason::kNotForUs);
}

TEST_CASE("packet filter: ICMP replies and errors pass, other ICMP needs any rule to the address") {
    // A TCP-only, one-port rule still opens ICMP to that address (matchIPsOnly ignores both).
    auto f = PacketFilter::compile({rule({"100.64.0.2", "fd7a::2"}, {dst("100.64.0.1", 22),
                                                                     dst("fd7a::1", 22)}, {6})})
                 .value();
    f.set_local_addresses(prefixes({"100.64.0.1/32", "fd7a::1/128"}));
    for (std::uint8_t type : {0, 3, 11, 12}) {
        CAPTURE(int(type));
        CHECK(accept_reason(f, icmp("100.64.0.9", "100.64.0.1", type)) ==
              FilterAcceptReason::kIcmpResponse);
    }
    for (std::uint8_t type : {1, 2, 3, 4, 129}) {
        CAPTURE(int(type));
        CHECK(accept_reason(f, icmp("fd7a::9", "fd7a::1", type)) == FilterAcceptReason::kIcmpResponse);
    }
    CHECK(drop_reason(f, icmp("100.64.0.9", "100.64.0.1", 8)) == FilterDropReason::kNoRuleMatched);
    CHECK(drop_reason(f, icmp("100.64.0.9", "100.64.0.1", 18)) == FilterDropReason::kNoRuleMatched);
    CHECK(drop_reason(f, icmp("100.64.0.9", "100.64.0.1", 0, 1)) == FilterDropReason::kNoRuleMatched);
    CHECK(drop_reason(f, icmp("fd7a::9", "fd7a::1", 128)) == FilterDropReason::kNoRuleMatched);
    CHECK(accept_reason(f, icmp("100.64.0.2", "100.64.0.1", 8)) == FilterAcceptReason::kIcmpRule);
    CHECK(accept_reason(f, icmp("fd7a::2", "fd7a::1", 128)) == FilterAcceptReason::kIcmpRule);
    // A 4-byte ICMP header is valid, but too short to be called a reply: it needs a rule.
    CHECK(drop_reason(f, icmp("100.64.0.9", "100.64.0.1", 0, 0, 4)) == FilterDropReason::kNoRuleMatched);
    CHECK(drop_reason(f, icmp("100.64.0.9", "100.64.0.1", 0, 0, 3)) == FilterDropReason::kMalformed);
    // ICMPv6's number inside IPv4 is just another protocol.
    CHECK(drop_reason(f, raw_proto("100.64.0.2", "100.64.0.1", ipproto::kIcmp6)) ==
          FilterDropReason::kProtocolNotAllowed);
}

TEST_CASE("packet filter: IP ranges, protocol lists and IPv4 options") {
    auto f = PacketFilter::compile({
                                       rule({"100.64.0.10-100.64.0.20"}, {dst("100.64.0.1", 80)}),
                                       rule({"fd7a::10-fd7a::1:0"}, {dst("fd7a::1", 80)}),
                                       rule({"*"}, {dst("100.64.0.1-100.64.0.1", 53)}, {17}),
                                       rule({"*"}, {dst("100.64.0.1", 7000)}, {300, -1}),
                                   })
                 .value();
    f.set_local_addresses(prefixes({"100.64.0.1/32", "fd7a::1/128"}));
    CHECK(accepts(f, tcp("100.64.0.10", "100.64.0.1", 1, 80)));
    CHECK(accepts(f, tcp("100.64.0.20", "100.64.0.1", 1, 80)));
    CHECK_FALSE(accepts(f, tcp("100.64.0.9", "100.64.0.1", 1, 80)));
    CHECK_FALSE(accepts(f, tcp("100.64.0.21", "100.64.0.1", 1, 80)));
    CHECK(accepts(f, tcp("fd7a::ffff", "fd7a::1", 1, 80)));
    CHECK(accepts(f, tcp("fd7a::1:0", "fd7a::1", 1, 80)));
    CHECK_FALSE(accepts(f, tcp("fd7a::1:1", "fd7a::1", 1, 80)));
    // IPProto [17]: UDP yes, TCP no.
    CHECK(accept_reason(f, udp("1.1.1.1", "100.64.0.1", 1, 53)) == FilterAcceptReason::kUdpRule);
    CHECK_FALSE(accepts(f, tcp("1.1.1.1", "100.64.0.1", 1, 53)));
    // Default protocols are TCP, UDP, ICMP, ICMPv6: SCTP is not among them.
    CHECK_FALSE(accepts(f, sctp("100.64.0.10", "100.64.0.1", 1, 80)));
    // Out-of-range protocol numbers are ignored, leaving a rule that matches nothing.
    CHECK(f.rules().rule_count() == 4);
    CHECK_FALSE(accepts(f, tcp("1.1.1.1", "100.64.0.1", 1, 7000)));
    CHECK_FALSE(accepts(f, udp("1.1.1.1", "100.64.0.1", 1, 7000)));
    // IHL 6: the TCP ports sit after 4 bytes of options.
    Bytes t = ports_header(20, 1, 80);
    t[13] = kSyn;
    CHECK(accepts(f, ip4(ip("100.64.0.10"), ip("100.64.0.1"), ipproto::kTcp, t, 0, 4)));
    t = ports_header(20, 1, 81);
    t[13] = kSyn;
    CHECK_FALSE(accepts(f, ip4(ip("100.64.0.10"), ip("100.64.0.1"), ipproto::kTcp, t, 0, 4)));
}

TEST_CASE("packet filter: TSMP is accepted whole, never fragmented or short") {
    auto f = PacketFilter::compile({}).value();
    f.set_local_addresses(prefixes({"100.64.0.1/32"}));
    CHECK(accepts(f, raw_proto("100.64.0.2", "100.64.0.1", ipproto::kTsmp, 7)));
    CHECK(drop_reason(f, raw_proto("100.64.0.2", "100.64.0.1", ipproto::kTsmp, 6)) ==
          FilterDropReason::kMalformed);
    CHECK(drop_reason(f, ip4(ip("100.64.0.2"), ip("100.64.0.1"), ipproto::kTsmp, Bytes(16, 0),
                             0x2000)) == FilterDropReason::kMalformed);
}

TEST_CASE("packet filter: compile warnings are bounded and not fatal; size limits are") {
    std::vector<FilterRule> rules;
    FilterRule r = rule({}, {dst("100.64.0.1", 22)});
    for (int i = 0; i < 100; ++i) r.src_ips.push_back("cap:tailscale.com/cap/" + std::to_string(i));
    r.src_ips.push_back("100.64.0.2");
    r.src_ips.push_back("100.64.0.0/10");  // host bits? no: valid
    r.src_ips.push_back("100.64.0.1/10");  // host bits set
    rules.push_back(r);
    rules.push_back(rule({"100.64.0.2"}, {dst("cap:foo", 22), dst("bogus", 22), dst("100.64.0.1", 9, 8)}));
    std::vector<std::string> warnings;
    auto f = PacketFilter::compile(rules, &warnings);
    REQUIRE(f);
    CHECK(warnings.size() == kMaxFilterWarnings + 1);
    CHECK(warnings.back() == "72 more filter warnings not shown");
    CHECK(f->rules().rule_count() == 1);  // the second rule has no usable destination

    FilterRule cap_grant = rule({"*"}, {});
    cap_grant.has_cap_grant = true;
    auto g = CompiledFilterRules::compile({cap_grant});
    REQUIRE(g);
    CHECK(g->rule_count() == 0);  // application capabilities grant no network access

    std::vector<FilterRule> too_many(kMaxFilterRules + 1, rule({"*"}, {dst_all("*")}));
    auto big = PacketFilter::compile(too_many);
    REQUIRE_FALSE(big);
    CHECK(big.error().code == Errc::kLimitReached);
    FilterRule wide = rule({}, {dst_all("*")});
    wide.src_ips.assign(kMaxFilterAddressEntries, "100.64.0.2");
    CHECK_FALSE(CompiledFilterRules::compile({wide}));
}

TEST_CASE("packet filter: a netmap-sized rule set (upstream matches-1.json shape)") {
    // ~900 /32 sources to one node on all ports, as in testdata/matches-1.json's first match.
    FilterRule r = rule({}, {dst_all("100.96.14.120"), dst_all("fd7a:115c:a1e0:ab12:4843:cd96:6260:e78")});
    for (int i = 0; i < 920; ++i) {
        r.src_ips.push_back("100." + std::to_string(64 + i / 256) + "." + std::to_string(i % 256) + ".7");
    }
    auto f = PacketFilter::compile({r, rule({"*"}, {dst("100.96.14.120", 443)})}).value();
    f.set_local_addresses(prefixes({"100.96.14.120/32", "fd7a:115c:a1e0:ab12:4843:cd96:6260:e78/128"}));
    CHECK(accepts(f, tcp("100.67.151.7", "100.96.14.120", 1, 22)));
    CHECK_FALSE(accepts(f, tcp("100.67.152.7", "100.96.14.120", 1, 22)));
    CHECK_FALSE(accepts(f, tcp("100.64.0.8", "100.96.14.120", 1, 22)));
    CHECK(accepts(f, tcp("100.64.0.8", "100.96.14.120", 1, 443)));
}

TEST_CASE("packet filter: UDP flow table is bounded, least recently used goes, idle entries lapse") {
    UdpFlowTable table(4, std::chrono::seconds(60));
    auto key = [](std::uint16_t port) {
        FlowKey k;
        k.proto = ipproto::kUdp;
        k.version = 4;
        k.src_port = port;
        k.dst_port = 53;
        return k;
    };
    for (std::uint16_t p = 1; p <= 4; ++p) table.record(kT0, key(p));
    CHECK(table.size() == 4);
    CHECK(table.lookup(kT0, key(1)));  // 1 becomes most recently used
    table.record(kT0, key(5));         // evicts 2
    CHECK(table.size() == 4);
    CHECK(table.evictions() == 1);
    CHECK_FALSE(table.lookup(kT0, key(2)));
    CHECK(table.lookup(kT0, key(1)));
    CHECK(table.lookup(kT0, key(5)));
    CHECK(table.lookup(kT0 + std::chrono::seconds(60), key(3)));
    CHECK_FALSE(table.lookup(kT0 + std::chrono::seconds(61), key(4)));
    CHECK(table.expirations() == 1);
    CHECK(table.size() == 3);
    table.clear();
    CHECK(table.size() == 0);
    CHECK_FALSE(table.lookup(kT0, key(1)));

    // Through the filter: 600 outbound flows leave the 512 newest; the rules survive set_rules.
    PacketFilter f = PacketFilter::compile({}).value();
    f.set_local_addresses(prefixes({"100.64.0.1/32"}));
    for (int i = 0; i < 600; ++i) {
        f.note_outbound(kT0, udp("100.64.0.1", "100.64.0.2", static_cast<std::uint16_t>(10000 + i), 53));
    }
    CHECK(f.flows().size() == UdpFlowTable::kDefaultCapacity);
    CHECK_FALSE(accepts(f, udp("100.64.0.2", "100.64.0.1", 53, 10000)));
    f.set_rules(CompiledFilterRules::compile({}).value());
    CHECK(accepts(f, udp("100.64.0.2", "100.64.0.1", 53, 10599)));
    CHECK_FALSE(accepts(f, udp("100.64.0.2", "100.64.0.1", 53, 10599),
                        kT0 + UdpFlowTable::kDefaultIdleTimeout + std::chrono::seconds(1)));
    // Multicast and fragments going out are not flows (RunOut's pre() decides them first).
    f.note_outbound(kT0, udp("100.64.0.1", "224.0.0.251", 5353, 5353));
    CHECK(f.stats().flows_recorded == 600);
}

TEST_CASE("packet filter: flow table survives heavy churn (probe chains stay consistent)") {
    UdpFlowTable table(64, std::chrono::hours(1));
    FlowKey k;
    k.proto = ipproto::kUdp;
    k.version = 6;
    for (std::uint32_t i = 0; i < 5000; ++i) {
        k.src_port = static_cast<std::uint16_t>(i);
        k.src[15] = static_cast<std::uint8_t>(i * 7);
        table.record(kT0, k);
        // The 64 most recent flows are all still found.
        if (i % 97 == 0 && i >= 64) {
            FlowKey q = k;
            for (std::uint32_t j = i - 63; j <= i; ++j) {
                q.src_port = static_cast<std::uint16_t>(j);
                q.src[15] = static_cast<std::uint8_t>(j * 7);
                REQUIRE(table.lookup(kT0, q));
            }
        }
    }
    CHECK(table.size() == 64);
}
