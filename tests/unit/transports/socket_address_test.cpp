#include <doctest/doctest.h>

#include <netinet/in.h>

#include <cstring>

#include "transports/socket_address.hpp"

using namespace tunless;
using namespace tunless::io;

TEST_CASE("IPv4 endpoint round-trips through sockaddr_in") {
    auto ep = *Endpoint::parse_numeric("192.0.2.7:51820");
    auto sa = to_socket_address(ep, AF_INET);
    REQUIRE(sa);
    CHECK(sa->family() == AF_INET);
    CHECK(sa->length == sizeof(sockaddr_in));
    auto back = from_socket_address(sa->get(), sa->length);
    REQUIRE(back);
    CHECK(*back == ep);
}

TEST_CASE("IPv4 endpoint on an AF_INET6 socket is v4-mapped and comes back as IPv4") {
    auto ep = *Endpoint::parse_numeric("192.0.2.7:1234");
    auto sa = to_socket_address(ep, AF_INET6);
    REQUIRE(sa);
    CHECK(sa->family() == AF_INET6);
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa->get(), sizeof sin6);
    CHECK(IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr));
    CHECK(ntohs(sin6.sin6_port) == 1234);
    auto back = from_socket_address(sa->get(), sa->length);
    REQUIRE(back);
    CHECK(back->ip.is_v4());
    CHECK(back->to_string() == "192.0.2.7:1234");
}

TEST_CASE("IPv6 endpoint round-trips; impossible conversions are refused") {
    auto ep = *Endpoint::parse_numeric("[fd00::1]:51820");
    auto sa = to_socket_address(ep, AF_INET6);
    REQUIRE(sa);
    CHECK(*from_socket_address(sa->get(), sa->length) == ep);
    CHECK_FALSE(to_socket_address(ep, AF_INET));
    CHECK_FALSE(to_socket_address(Endpoint::relay(3), AF_INET6));
    CHECK_FALSE(to_socket_address(Endpoint{}, AF_INET));
    CHECK_FALSE(from_socket_address(sa->get(), sizeof(sockaddr_in)));  // short length
    CHECK_FALSE(from_socket_address(nullptr, 0));
}

TEST_CASE("a v4-mapped IPv6 endpoint is sent as plain IPv4 on an AF_INET socket") {
    auto ep = *Endpoint::parse_numeric("[::ffff:10.0.0.1]:9");
    auto sa = to_socket_address(ep, AF_INET);
    REQUIRE(sa);
    CHECK(from_socket_address(sa->get(), sa->length)->to_string() == "10.0.0.1:9");
}
