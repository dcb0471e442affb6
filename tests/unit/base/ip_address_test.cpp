#include <doctest/doctest.h>

#include "core/base/ip_address.hpp"

using namespace tunless;

TEST_CASE("IPv4 parse and format") {
    CHECK(IpAddress::parse("10.0.0.1")->to_string() == "10.0.0.1");
    CHECK(!IpAddress::parse("10.0.0"));
    CHECK(!IpAddress::parse("10.0.0.256"));
    CHECK(!IpAddress::parse("010.0.0.1"));
    CHECK(!IpAddress::parse("10.0.0.1 "));
}

TEST_CASE("IPv6 parse and RFC 5952 format") {
    CHECK(IpAddress::parse("fd00::1")->to_string() == "fd00::1");
    CHECK(IpAddress::parse("::")->to_string() == "::");
    CHECK(IpAddress::parse("::1")->is_loopback());
    CHECK(IpAddress::parse("2001:db8:0:0:1:0:0:1")->to_string() == "2001:db8::1:0:0:1");
    CHECK(IpAddress::parse("::ffff:1.2.3.4")->unmap_v4().to_string() == "1.2.3.4");
    CHECK(!IpAddress::parse("1:2:3:4:5:6:7:8:9"));
    CHECK(!IpAddress::parse("1::2::3"));
    CHECK(!IpAddress::parse("fd00:::1"));
    CHECK(!IpAddress::parse(":1"));
}

TEST_CASE("prefixes mask host bits and match") {
    auto p = IpPrefix::parse("10.1.2.3/8");
    REQUIRE(p);
    CHECK(p->to_string() == "10.0.0.0/8");
    CHECK(p->contains(*IpAddress::parse("10.200.0.1")));
    CHECK(!p->contains(*IpAddress::parse("11.0.0.1")));
    CHECK(!p->contains(*IpAddress::parse("::1")));
    CHECK(IpPrefix::parse("fd00::1/64")->to_string() == "fd00::/64");
    CHECK(IpPrefix::parse("1.2.3.4")->bits() == 32);
    CHECK(!IpPrefix::parse("1.2.3.4/33"));
    CHECK(!IpPrefix::parse("1.2.3.4/"));
}

TEST_CASE("endpoints") {
    CHECK(Endpoint::parse_numeric("1.2.3.4:51820")->to_string() == "1.2.3.4:51820");
    CHECK(Endpoint::parse_numeric("[fd00::1]:5")->to_string() == "[fd00::1]:5");
    CHECK(!Endpoint::parse_numeric("fd00::1:5"));
    CHECK(!Endpoint::parse_numeric("1.2.3.4:65536"));
    auto hp = split_host_port("peer.example:51820");
    REQUIRE(hp);
    CHECK(hp->host == "peer.example");
    CHECK(hp->port == 51820);
}
