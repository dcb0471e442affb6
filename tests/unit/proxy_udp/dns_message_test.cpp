// DNS codec: queries byte-exact against the RFC 1035 §4.1 layout; responses built by hand from
// the same layout (with §4.1.4 compression); malformed, truncated and looping input rejected.
#include <doctest/doctest.h>

#include <string>

#include "proxy/dns_message.hpp"

namespace tunless::proxy::dns {
namespace {

struct Msg {
    Bytes b;
    Msg& u8(int v) {
        b.push_back(static_cast<std::uint8_t>(v));
        return *this;
    }
    Msg& u16(int v) { return u8(v >> 8).u8(v & 0xFF); }
    Msg& u32(std::uint32_t v) { return u16(static_cast<int>(v >> 16)).u16(static_cast<int>(v & 0xFFFF)); }
    Msg& name(std::string_view dotted) {  // uncompressed, root-terminated
        std::size_t start = 0;
        while (start < dotted.size()) {
            auto dot = dotted.find('.', start);
            if (dot == std::string_view::npos) dot = dotted.size();
            u8(static_cast<int>(dot - start));
            for (auto i = start; i < dot; ++i) u8(dotted[i]);
            start = dot + 1;
        }
        return u8(0);
    }
    Msg& ptr(int offset) { return u8(0xC0 | (offset >> 8)).u8(offset & 0xFF); }
};

HostName host(std::string_view s) {
    auto h = HostName::parse(s);
    REQUIRE(h.has_value());
    return *h;
}

// Header (id 0x1234, QR RD RA, RCODE rcode) + question "www.example.com" type `qtype`.
Msg response_head(int answers, int qtype = 1, int rcode = 0, int id = 0x1234) {
    Msg m;
    m.u16(id).u16(0x8180 | rcode).u16(1).u16(answers).u16(0).u16(0);
    m.name("www.example.com").u16(qtype).u16(1);
    return m;
}

}  // namespace

TEST_CASE("dns: query layout is RFC 1035 §4.1 with RD set") {
    auto q = build_query(0xBEEF, host("WWW.Example.com."), RecordType::kAaaa);
    Msg want;
    want.u16(0xBEEF).u16(0x0100).u16(1).u16(0).u16(0).u16(0).name("www.example.com").u16(28).u16(1);
    CHECK(Bytes(q.view().begin(), q.view().end()) == want.b);
}

TEST_CASE("dns: host name syntax") {
    CHECK(HostName::parse("a.b")->view() == "a.b");
    CHECK(HostName::parse("_srv.x-y.Z9")->view() == "_srv.x-y.z9");
    CHECK_FALSE(HostName::parse(""));
    CHECK_FALSE(HostName::parse("."));
    CHECK_FALSE(HostName::parse("a..b"));
    CHECK_FALSE(HostName::parse(".a"));
    CHECK_FALSE(HostName::parse("a b"));
    CHECK_FALSE(HostName::parse(std::string(64, 'a')));
    CHECK(HostName::parse(std::string(63, 'a')));
    std::string long_name;
    for (int i = 0; i < 64; ++i) long_name += "abc.";
    CHECK_FALSE(HostName::parse(long_name));  // 256 characters
}

TEST_CASE("dns: A answer with a compression pointer to the question") {
    auto m = response_head(1);
    m.ptr(12).u16(1).u16(1).u32(3600).u16(4).u8(192).u8(0).u8(2).u8(7);
    auto r = parse_response(m.b, 0x1234, host("www.example.com"), RecordType::kA);
    REQUIRE(r.ok());
    CHECK(r.response.rcode == 0);
    REQUIRE(r.response.address_count == 1);
    CHECK(r.response.addresses[0] == *IpAddress::parse("192.0.2.7"));
    CHECK(r.response.ttl_s == 3600);
}

TEST_CASE("dns: CNAME chain with suffix compression, minimum TTL, unrelated records skipped") {
    auto m = response_head(4);
    // www.example.com CNAME web.example.com ("web" + pointer to "example.com" at offset 16).
    m.ptr(12).u16(5).u16(1).u32(600);
    const std::size_t rdlen_at = m.b.size();
    m.u16(0);
    const std::size_t web_at = m.b.size();
    m.u8(3).u8('w').u8('e').u8('b').ptr(16);
    m.b[rdlen_at + 1] = static_cast<std::uint8_t>(m.b.size() - web_at);
    // An A record for a name outside the chain: ignored.
    m.name("evil.example").u16(1).u16(1).u32(9).u16(4).u8(6).u8(6).u8(6).u8(6);
    // web.example.com A, owner by pointer to the CNAME target.
    m.ptr(static_cast<int>(web_at)).u16(1).u16(1).u32(120).u16(4).u8(198).u8(51).u8(100).u8(1);
    m.ptr(static_cast<int>(web_at)).u16(1).u16(1).u32(7200).u16(4).u8(198).u8(51).u8(100).u8(2);
    auto r = parse_response(m.b, 0x1234, host("www.example.com"), RecordType::kA);
    REQUIRE(r.ok());
    REQUIRE(r.response.address_count == 2);
    CHECK(r.response.addresses[0] == *IpAddress::parse("198.51.100.1"));
    CHECK(r.response.addresses[1] == *IpAddress::parse("198.51.100.2"));
    CHECK(r.response.ttl_s == 120);
}

TEST_CASE("dns: AAAA answer, case-insensitive owner match") {
    auto m = response_head(1, 28);
    m.name("WWW.EXAMPLE.COM").u16(28).u16(1).u32(60).u16(16);
    for (int i = 0; i < 15; ++i) m.u8(i == 0 ? 0x20 : 0);
    m.u8(1);
    auto r = parse_response(m.b, 0x1234, host("www.example.com"), RecordType::kAaaa);
    REQUIRE(r.ok());
    REQUIRE(r.response.address_count == 1);
    CHECK(r.response.addresses[0] == *IpAddress::parse("2000::1"));
}

TEST_CASE("dns: NXDOMAIN and an empty NOERROR parse with no addresses") {
    auto nx = response_head(0, 1, 3);
    auto r = parse_response(nx.b, 0x1234, host("www.example.com"), RecordType::kA);
    REQUIRE(r.ok());
    CHECK(r.response.rcode == 3);
    CHECK(r.response.address_count == 0);
    auto empty = response_head(0);
    r = parse_response(empty.b, 0x1234, host("www.example.com"), RecordType::kA);
    REQUIRE(r.ok());
    CHECK(r.response.address_count == 0);
}

TEST_CASE("dns: responses to another question are refused") {
    auto name = host("www.example.com");
    CHECK(parse_response(response_head(0, 1, 0, 0x9999).b, 0x1234, name, RecordType::kA).fault ==
          Fault::kIdMismatch);
    CHECK(parse_response(response_head(0, 28).b, 0x1234, name, RecordType::kA).fault ==
          Fault::kQuestionMismatch);
    CHECK(parse_response(response_head(0).b, 0x1234, host("www.example.org"), RecordType::kA).fault ==
          Fault::kQuestionMismatch);
    auto query = build_query(0x1234, name, RecordType::kA);
    CHECK(parse_response(query.view(), 0x1234, name, RecordType::kA).fault == Fault::kNotResponse);
    auto tc = response_head(0);
    tc.b[2] |= 0x02;
    CHECK(parse_response(tc.b, 0x1234, name, RecordType::kA).fault == Fault::kTruncated);
    auto two = response_head(0);
    two.b[5] = 2;
    CHECK(parse_response(two.b, 0x1234, name, RecordType::kA).fault == Fault::kQuestionMismatch);
}

TEST_CASE("dns: every truncation of a valid response is rejected, never read past the end") {
    auto m = response_head(1);
    m.ptr(12).u16(1).u16(1).u32(5).u16(4).u8(10).u8(0).u8(0).u8(1);
    auto name = host("www.example.com");
    for (std::size_t n = 0; n < m.b.size(); ++n) {
        Bytes cut(m.b.begin(), m.b.begin() + static_cast<long>(n));
        auto r = parse_response(cut, 0x1234, name, RecordType::kA);
        CHECK_MESSAGE(!r.ok(), "prefix " << n);
    }
    CHECK(parse_response(m.b, 0x1234, name, RecordType::kA).ok());
}

TEST_CASE("dns: compression pointer loops and forward pointers are rejected") {
    auto name = host("www.example.com");
    // Answer owner is a pointer to itself.
    auto self = response_head(1);
    self.ptr(static_cast<int>(self.b.size())).u16(1).u16(1).u32(5).u16(4).u32(0);
    CHECK(parse_response(self.b, 0x1234, name, RecordType::kA).fault == Fault::kPointerLoop);
    // Label then a pointer back to that label: strictly backwards from the pointer, but a loop.
    auto loop = response_head(1);
    const int at = static_cast<int>(loop.b.size());
    loop.u8(1).u8('a').ptr(at).u16(1).u16(1).u32(5).u16(4).u32(0);
    CHECK(parse_response(loop.b, 0x1234, name, RecordType::kA).fault == Fault::kPointerLoop);
    // Forward pointer.
    auto fwd = response_head(1);
    fwd.ptr(static_cast<int>(fwd.b.size()) + 2).u16(1).u16(1).u32(5).u16(4).u32(0);
    CHECK(parse_response(fwd.b, 0x1234, name, RecordType::kA).fault == Fault::kPointerLoop);
    // Question name given as a pointer into the header.
    Msg q;
    q.u16(0x1234).u16(0x8180).u16(1).u16(0).u16(0).u16(0).ptr(4).u16(1).u16(1);
    CHECK_FALSE(parse_response(q.b, 0x1234, name, RecordType::kA).ok());
}

TEST_CASE("dns: bad labels, oversized names and bad RDLENGTH are rejected") {
    auto name = host("www.example.com");
    auto ext = response_head(1);
    ext.u8(0x41).u8(0).u16(1).u16(1).u32(5).u16(4).u32(0);  // 01 label type
    CHECK(parse_response(ext.b, 0x1234, name, RecordType::kA).fault == Fault::kBadName);
    auto big = response_head(1);
    for (int i = 0; i < 5; ++i) {
        big.u8(63);
        for (int j = 0; j < 63; ++j) big.u8('x');
    }
    big.u8(0).u16(1).u16(1).u32(5).u16(4).u32(0);
    CHECK(parse_response(big.b, 0x1234, name, RecordType::kA).fault == Fault::kBadName);
    auto rd = response_head(1);
    rd.ptr(12).u16(1).u16(1).u32(5).u16(3).u8(1).u8(2).u8(3);
    CHECK(parse_response(rd.b, 0x1234, name, RecordType::kA).fault == Fault::kBadRecord);
    auto over = response_head(1);
    over.ptr(12).u16(1).u16(1).u32(5).u16(40).u32(0);
    CHECK(parse_response(over.b, 0x1234, name, RecordType::kA).fault == Fault::kTooShort);
    auto nul = response_head(1);
    nul.u8(2).u8('a').u8(0).u8(0).u16(1).u16(1).u32(5).u16(4).u32(0);
    CHECK(parse_response(nul.b, 0x1234, name, RecordType::kA).fault == Fault::kBadName);
}

TEST_CASE("dns: TTL with the top bit set counts as zero (RFC 2181 §8)") {
    auto m = response_head(1);
    m.ptr(12).u16(1).u16(1).u32(0x80000001u).u16(4).u32(0x0A000001);
    auto r = parse_response(m.b, 0x1234, host("www.example.com"), RecordType::kA);
    REQUIRE(r.ok());
    CHECK(r.response.ttl_s == 0);
}

}  // namespace tunless::proxy::dns
