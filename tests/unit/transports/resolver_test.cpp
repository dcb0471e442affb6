#include <doctest/doctest.h>

#include "transports/resolver.hpp"

using namespace tunless;
using namespace tunless::io;

// Only numeric names and "localhost" (answered from /etc/hosts): no test talks to a DNS server.

TEST_CASE("numeric hosts resolve without a lookup and honour the family filter") {
    auto v4 = resolve_host("192.0.2.1");
    REQUIRE(v4);
    REQUIRE(v4->size() == 1);
    CHECK(v4->front().to_string() == "192.0.2.1");
    auto v6 = resolve_host("2001:db8::1", AddressPreference::kOnlyV6);
    REQUIRE(v6);
    CHECK(v6->front().to_string() == "2001:db8::1");
    auto wrong = resolve_host("192.0.2.1", AddressPreference::kOnlyV6);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == Errc::kNotFound);
    CHECK_FALSE(resolve_host(""));
}

TEST_CASE("localhost resolves to loopback addresses, ordered by preference") {
    auto any = resolve_host("localhost", AddressPreference::kPreferV4);
    REQUIRE(any);
    CHECK(any->front().is_v4());
    for (const auto& a : *any) {
        CHECK(a.is_loopback());
    }
    auto only4 = resolve_host("localhost", AddressPreference::kOnlyV4);
    REQUIRE(only4);
    for (const auto& a : *only4) {
        CHECK(a.is_v4());
    }
    auto ep = resolve_endpoint("localhost", 51820, AddressPreference::kOnlyV4);
    REQUIRE(ep);
    CHECK(ep->to_string() == "127.0.0.1:51820");
}
