// PROXY protocol v2 header (haproxy doc/proxy-protocol.txt §2.2). Expected bytes are written
// out by hand from the spec's layout; the addresses are those of the spec's own v1 example
// ("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443").
#include <doctest/doctest.h>

#include "proxy/proxy_protocol.hpp"
#include "tests/unit/proxy/codec_test_util.hpp"

using namespace tunless;
using namespace tunless::proxy;
using namespace tunless::proxy::proxy_protocol;
using tunless::proxy::test::bytes;
using tunless::proxy::test::cat;
using tunless::proxy::test::parse_every_prefix;
using tunless::proxy::test::to_bytes;

namespace {

const Bytes kSig = bytes({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

Addresses spec_example(Transport t) {
    return Addresses{t, *IpAddress::parse("192.168.0.1"), 56324, *IpAddress::parse("192.168.0.11"),
                     443};
}

Addresses v6_example(Transport t) {
    return Addresses{t, *IpAddress::parse("2001:db8::1"), 56324, *IpAddress::parse("2001:db8::11"),
                     443};
}

const Bytes kV6Block = bytes({
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,     // src 2001:db8::1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11,     // dst 2001:db8::11
    0xdc, 0x04, 0x01, 0xbb,                                           // 56324, 443
});

auto decode(ByteView in) { return parse_every_prefix(decode_v2, in); }

}  // namespace

TEST_CASE("PROXY v2 TCP over IPv4: signature, 0x21, 0x11, length 12, addresses, ports") {
    const Bytes expected = cat(kSig, bytes({0x21, 0x11, 0x00, 0x0C,  //
                                            192, 168, 0, 1,          // source address
                                            192, 168, 0, 11,         // destination address
                                            0xDC, 0x04,              // source port 56324
                                            0x01, 0xBB}));           // destination port 443
    const auto encoded = encode_v2(spec_example(Transport::kTcp));
    CHECK(to_bytes(encoded.view()) == expected);
    CHECK(encoded.size() == 28);

    auto d = decode(expected);
    REQUIRE(d.done());
    CHECK(d.consumed == 28);
    CHECK_FALSE(d.value.is_local);
    REQUIRE(d.value.addresses);
    CHECK(*d.value.addresses == spec_example(Transport::kTcp));
}

TEST_CASE("PROXY v2 UDP over IPv4 uses family 0x12") {
    const auto encoded = encode_v2(spec_example(Transport::kUdp));
    CHECK(to_bytes(encoded.view()) ==
          cat(kSig, bytes({0x21, 0x12, 0x00, 0x0C, 192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04,
                           0x01, 0xBB})));
    auto d = decode(encoded.view());
    REQUIRE(d.done());
    CHECK(d.value.addresses->transport == Transport::kUdp);
}

TEST_CASE("PROXY v2 over IPv6: families 0x21/0x22, length 36") {
    const auto tcp = encode_v2(v6_example(Transport::kTcp));
    CHECK(to_bytes(tcp.view()) == cat(cat(kSig, bytes({0x21, 0x21, 0x00, 0x24})), kV6Block));
    CHECK(tcp.size() == kMaxEncodedSize);
    const auto udp = encode_v2(v6_example(Transport::kUdp));
    CHECK(to_bytes(udp.view()) == cat(cat(kSig, bytes({0x21, 0x22, 0x00, 0x24})), kV6Block));

    auto d = decode(tcp.view());
    REQUIRE(d.done());
    CHECK(d.consumed == kMaxEncodedSize);
    CHECK(*d.value.addresses == v6_example(Transport::kTcp));
}

TEST_CASE("a v4/v6 mix is sent as IPv6 with the IPv4 side v4-mapped") {
    const Addresses mixed{Transport::kTcp, *IpAddress::parse("10.0.0.2"), 40000,
                          *IpAddress::parse("fd00::1"), 22};
    const auto encoded = encode_v2(mixed);
    const Bytes expected = cat(kSig, bytes({0x21, 0x21, 0x00, 0x24,                          //
                                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2,  //
                                            0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,    //
                                            0x9c, 0x40, 0x00, 0x16}));
    CHECK(to_bytes(encoded.view()) == expected);
    auto d = decode(encoded.view());
    REQUIRE(d.done());
    CHECK(d.value.addresses->source.unmap_v4() == *IpAddress::parse("10.0.0.2"));
}

TEST_CASE("LOCAL command: version 2, command 0, AF_UNSPEC, no addresses") {
    const auto local = encode_v2_local();
    CHECK(to_bytes(local.view()) == cat(kSig, bytes({0x20, 0x00, 0x00, 0x00})));
    auto d = decode(local.view());
    REQUIRE(d.done());
    CHECK(d.consumed == 16);
    CHECK(d.value.is_local);
    CHECK_FALSE(d.value.addresses);

    // Receivers must skip `len` bytes even for LOCAL and ignore the block (§2.2).
    const Bytes with_block = cat(kSig, bytes({0x20, 0x11, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 0,
                                              1, 0, 2, 'G', 'E', 'T'}));
    auto skip = decode(with_block);
    REQUIRE(skip.done());
    CHECK(skip.consumed == 28);
    CHECK(skip.value.is_local);
    CHECK_FALSE(skip.value.addresses);
}

TEST_CASE("the decoder skips TLVs and stops at the header's end") {
    // A PP2_TYPE_NOOP TLV (type 0x04, length 2) after the IPv4 block: len = 12 + 5.
    const Bytes in = cat(kSig, bytes({0x21, 0x11, 0x00, 0x11, 192, 168, 0, 1, 192, 168, 0, 11,
                                      0xDC, 0x04, 0x01, 0xBB, 0x04, 0x00, 0x02, 0, 0, 'x'}));
    auto d = decode(in);
    REQUIRE(d.done());
    CHECK(d.consumed == 16 + 17);
    CHECK(*d.value.addresses == spec_example(Transport::kTcp));
}

TEST_CASE("the decoder rejects what the spec says receivers must reject") {
    CHECK(decode(bytes("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")).fault ==
          Fault::kBadSignature);
    CHECK(decode(bytes({0x0D, 0x0A, 0x0D, 0x0B})).fault == Fault::kBadSignature);
    CHECK(decode(cat(kSig, bytes({0x11, 0x11, 0, 0}))).fault == Fault::kBadVersion);
    CHECK(decode(cat(kSig, bytes({0x22, 0x11, 0, 0}))).fault == Fault::kBadCommand);
    CHECK(decode(cat(kSig, bytes({0x21, 0x41, 0, 0}))).fault == Fault::kBadFamily);
    CHECK(decode(cat(kSig, bytes({0x21, 0x13, 0, 0}))).fault == Fault::kBadFamily);
    CHECK(decode(cat(kSig, bytes({0x21, 0x11, 0, 4, 1, 2, 3, 4}))).fault ==
          Fault::kShortAddresses);
    CHECK(decode(cat(kSig, bytes({0x21, 0x21, 0, 12}))).fault == Fault::kShortAddresses);
    CHECK(decode(cat(kSig, bytes({0x21, 0x11, 0x02, 0x01}))).fault == Fault::kTooLong);

    // UNSPEC and UNIX are valid but carry no address we represent.
    auto unspec = decode(cat(kSig, bytes({0x21, 0x00, 0, 0})));
    REQUIRE(unspec.done());
    CHECK_FALSE(unspec.value.addresses);
    CHECK(decode_v2({}).need_more());
}
