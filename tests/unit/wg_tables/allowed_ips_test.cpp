#include <doctest/doctest.h>

#include <string_view>

#include "core/wg/allowed_ips.hpp"

using namespace tunless;
using namespace tunless::wg;

namespace {

IpPrefix P(std::string_view s) {
    auto p = IpPrefix::parse(s);
    REQUIRE_MESSAGE(p.has_value(), s);
    return *p;
}
IpAddress A(std::string_view s) {
    auto a = IpAddress::parse(s);
    REQUIRE_MESSAGE(a.has_value(), s);
    return *a;
}
std::optional<PeerId> L(const AllowedIps& t, std::string_view addr) { return t.lookup(A(addr)); }

}  // namespace

TEST_CASE("empty table") {
    AllowedIps t;
    CHECK(t.empty());
    CHECK(!L(t, "10.0.0.1"));
    CHECK(!L(t, "::1"));
    CHECK(t.entries_for(1).empty());
    CHECK(!t.remove(P("10.0.0.0/8")));
    CHECK(t.remove_by_peer(1) == 0);
}

TEST_CASE("default routes /0, and IPv4 vs IPv6 separation") {
    AllowedIps t;
    t.insert(P("0.0.0.0/0"), 1);
    CHECK(L(t, "0.0.0.0") == 1u);
    CHECK(L(t, "255.255.255.255") == 1u);
    CHECK(L(t, "10.1.2.3") == 1u);
    CHECK(!L(t, "::"));
    CHECK(!L(t, "::ffff:10.1.2.3"));  // v4-mapped v6 is IPv6 here, as in wg
    t.insert(P("::/0"), 2);
    CHECK(L(t, "::") == 2u);
    CHECK(L(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 2u);
    CHECK(L(t, "::ffff:10.1.2.3") == 2u);
    CHECK(L(t, "10.1.2.3") == 1u);
    CHECK(t.size() == 2);
    t.insert(P("10.0.0.0/8"), 3);
    CHECK(L(t, "10.1.2.3") == 3u);
    CHECK(L(t, "11.1.2.3") == 1u);
}

TEST_CASE("overlapping prefixes: the longest wins") {
    AllowedIps t;
    // Inserted out of order so ancestors are created after descendants and branch nodes appear.
    t.insert(P("192.168.4.4/32"), 2);
    t.insert(P("192.168.4.0/24"), 1);
    t.insert(P("192.168.0.0/16"), 3);
    t.insert(P("192.95.5.64/27"), 4);
    t.insert(P("192.95.5.65/32"), 5);  // inside .64/27
    t.insert(P("10.0.0.0/8"), 6);
    t.insert(P("10.128.0.0/9"), 7);
    CHECK(L(t, "192.168.4.20") == 1u);
    CHECK(L(t, "192.168.4.0") == 1u);
    CHECK(L(t, "192.168.4.4") == 2u);
    CHECK(L(t, "192.168.200.182") == 3u);
    CHECK(L(t, "192.95.5.68") == 4u);
    CHECK(L(t, "192.95.5.65") == 5u);
    CHECK(L(t, "192.95.5.96") == std::nullopt);
    CHECK(L(t, "10.127.255.255") == 6u);
    CHECK(L(t, "10.128.0.0") == 7u);
    CHECK(L(t, "11.0.0.0") == std::nullopt);

    t.insert(P("2607:5300:60:6b00::c05f:543/128"), 10);
    t.insert(P("2607:5300:60:6b00::/64"), 11);
    t.insert(P("2607:5300::/32"), 12);
    t.insert(P("2001:db8::/32"), 13);
    t.insert(P("2001:db8::1/128"), 14);
    t.insert(P("2001:db8:0:0:8000::/65"), 15);  // split on a bit of the low 64
    CHECK(L(t, "2607:5300:60:6b00::c05f:543") == 10u);
    CHECK(L(t, "2607:5300:60:6b00::c05f:544") == 11u);
    CHECK(L(t, "2607:5300:60:6b01::1") == 12u);
    CHECK(L(t, "2607:5301::1") == std::nullopt);
    CHECK(L(t, "2001:db8::1") == 14u);
    CHECK(L(t, "2001:db8::2") == 13u);
    CHECK(L(t, "2001:db8::8000:0:0:1") == 15u);
    CHECK(L(t, "2001:db8::7fff:0:0:1") == 13u);
    CHECK(t.size() == 13);
}

TEST_CASE("host bits are ignored; an identical prefix changes owner") {
    AllowedIps t;
    t.insert(P("10.1.2.3/8"), 1);
    CHECK(L(t, "10.200.0.1") == 1u);
    t.insert(P("10.0.0.0/8"), 2);
    CHECK(t.size() == 1);
    CHECK(L(t, "10.200.0.1") == 2u);
    CHECK(t.entries_for(1).empty());
    REQUIRE(t.entries_for(2).size() == 1);
    CHECK(t.entries_for(2)[0].to_string() == "10.0.0.0/8");
}

TEST_CASE("host routes at the last bit") {
    AllowedIps t;
    t.insert(P("255.255.255.255/32"), 1);
    t.insert(P("255.255.255.254/32"), 2);
    t.insert(P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 3);
    t.insert(P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128"), 4);
    t.insert(P("::1/128"), 5);
    CHECK(L(t, "255.255.255.255") == 1u);
    CHECK(L(t, "255.255.255.254") == 2u);
    CHECK(L(t, "255.255.255.253") == std::nullopt);
    CHECK(L(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 3u);
    CHECK(L(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe") == 4u);
    CHECK(L(t, "::1") == 5u);
    CHECK(L(t, "::") == std::nullopt);
}

TEST_CASE("remove one prefix keeps the others; remove_by_peer; entries_for order") {
    AllowedIps t;
    t.insert(P("10.0.0.0/8"), 1);
    t.insert(P("10.1.0.0/16"), 2);
    t.insert(P("10.1.1.0/24"), 1);
    t.insert(P("10.2.0.0/16"), 1);
    t.insert(P("fd00::/8"), 1);
    t.insert(P("fd00:1::/32"), 2);
    REQUIRE(t.size() == 6);

    CHECK(t.remove(P("10.1.0.0/16")));
    CHECK(!t.remove(P("10.1.0.0/16")));
    CHECK(!t.remove(P("10.3.0.0/16")));  // contained in 10/8 but not present itself
    CHECK(t.size() == 5);
    CHECK(L(t, "10.1.2.3") == 1u);  // falls back to 10/8
    CHECK(L(t, "10.1.1.3") == 1u);

    const auto e1 = t.entries_for(1);
    REQUIRE(e1.size() == 4);
    CHECK(e1[0].to_string() == "10.0.0.0/8");
    CHECK(e1[1].to_string() == "10.1.1.0/24");
    CHECK(e1[2].to_string() == "10.2.0.0/16");
    CHECK(e1[3].to_string() == "fd00::/8");

    CHECK(t.remove_by_peer(1) == 4);
    CHECK(t.size() == 1);
    CHECK(L(t, "10.1.1.3") == std::nullopt);
    CHECK(L(t, "fd00:1::5") == 2u);
    CHECK(L(t, "fd00:2::5") == std::nullopt);
    CHECK(t.remove_by_peer(2) == 1);
    CHECK(t.empty());
    CHECK(L(t, "fd00:1::5") == std::nullopt);

    // The table is reusable after being emptied, and after clear().
    t.insert(P("10.1.0.0/16"), 3);
    CHECK(L(t, "10.1.9.9") == 3u);
    t.clear();
    CHECK(t.empty());
    CHECK(L(t, "10.1.9.9") == std::nullopt);
}

TEST_CASE("moved-from and moved-to tables") {
    AllowedIps a;
    a.insert(P("10.0.0.0/8"), 1);
    AllowedIps b = std::move(a);
    CHECK(b.lookup(A("10.0.0.1")) == 1u);
    CHECK(b.size() == 1);
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    CHECK(a.lookup(A("10.0.0.1")) == std::nullopt);
    a = std::move(b);
    CHECK(a.lookup(A("10.0.0.1")) == 1u);
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
}
