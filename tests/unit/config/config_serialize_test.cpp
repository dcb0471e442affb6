#include <doctest/doctest.h>

#include "config_test_util.hpp"
#include "core/config/parser.hpp"

using namespace tunless;
using namespace tunless::cfg;
using namespace tunless::cfg::test;

namespace {

void check_same(const Config& a, const Config& b) {
    REQUIRE(a.iface.private_key.has_value() == b.iface.private_key.has_value());
    if (a.iface.private_key) {
        CHECK(crypto::key_to_base64(a.iface.private_key->view()) ==
              crypto::key_to_base64(b.iface.private_key->view()));
    }
    CHECK(a.iface.addresses == b.iface.addresses);
    CHECK(a.iface.listen_port == b.iface.listen_port);
    CHECK(a.iface.mtu == b.iface.mtu);
    CHECK(a.iface.dns == b.iface.dns);
    CHECK(a.iface.dns_search == b.iface.dns_search);
    REQUIRE(a.peers.size() == b.peers.size());
    for (std::size_t i = 0; i < a.peers.size(); ++i) {
        CHECK(a.peers[i].public_key == b.peers[i].public_key);
        CHECK(a.peers[i].preshared_key.has_value() == b.peers[i].preshared_key.has_value());
        CHECK(a.peers[i].allowed_ips == b.peers[i].allowed_ips);
        CHECK(a.peers[i].endpoint == b.peers[i].endpoint);
        CHECK(a.peers[i].persistent_keepalive == b.peers[i].persistent_keepalive);
    }
    REQUIRE(a.socks5.size() == b.socks5.size());
    for (std::size_t i = 0; i < a.socks5.size(); ++i) {
        CHECK(a.socks5[i].bind == b.socks5[i].bind);
        CHECK(a.socks5[i].username == b.socks5[i].username);
        CHECK(a.socks5[i].password == b.socks5[i].password);
        CHECK(a.socks5[i].max_connections == b.socks5[i].max_connections);
    }
    CHECK(a.http.size() == b.http.size());
    REQUIRE(a.tcp_client_tunnels.size() == b.tcp_client_tunnels.size());
    REQUIRE(a.tcp_server_tunnels.size() == b.tcp_server_tunnels.size());
    REQUIRE(a.udp_proxy_tunnels.size() == b.udp_proxy_tunnels.size());
    REQUIRE(a.udp_server_tunnels.size() == b.udp_server_tunnels.size());
    for (std::size_t i = 0; i < a.udp_server_tunnels.size(); ++i) {
        CHECK(a.udp_server_tunnels[i].listen_port == b.udp_server_tunnels[i].listen_port);
        CHECK(a.udp_server_tunnels[i].target == b.udp_server_tunnels[i].target);
        CHECK(a.udp_server_tunnels[i].inactivity_timeout_s ==
              b.udp_server_tunnels[i].inactivity_timeout_s);
    }
    CHECK(a.resolve_strategy == b.resolve_strategy);
}

}  // namespace

TEST_CASE("serialize writes what parse reads back (round trip)") {
    const std::string text =
        std::string("[Interface]\nPrivateKey = ") + kPriv +
        "\nAddress = 10.99.0.1/24, fd12:3456::1/64\nListenPort = 51820\n"
        "MTU = 1300\nDNS = 10.99.0.53, corp.example\n"
        "[Peer]\nPublicKey = " +
        kPub + "\nPresharedKey = " + kPsk +
        "\nAllowedIPs = 10.99.0.2/32\nEndpoint = [2001:db8::1]:51820\n"
        "PersistentKeepalive = 15\n"
        "[Socks5]\nBindAddress = [::1]:1080\nUsername = u\nPassword = p\n"
        "MaxConnections = 5\n[http]\nBindAddress = 127.0.0.1:3128\n"
        "[TCPClientTunnel]\nBindAddress = 127.0.0.1:2222\nTarget = h.example:22\n"
        "[TCPServerTunnel]\nListenPort = 80\nTarget = 127.0.0.1:8080\n"
        "[UDPProxyTunnel]\nBindAddress = 127.0.0.1:53\nTarget = 10.99.0.53:53\n"
        "InactivityTimeout = 30\n"
        "[UDPServerTunnel]\nListenPort = 53\nTarget = 127.0.0.1:5353\n"
        "InactivityTimeout = 20\nMaxConnections = 9\n"
        "[Resolve]\nResolveStrategy = ipv6\n";
    auto first = parse(text, "a.conf");
    REQUIRE(first);
    const std::string written = serialize(first->config);
    auto second = parse(written, "b.conf");
    INFO(written);
    REQUIRE(second);
    check_same(first->config, second->config);
    CHECK(serialize(second->config) == written);
}

TEST_CASE("serialize of a default node config is the expected wg-quick text") {
    Config c;
    auto key = crypto::key_from_base64(kPriv);
    REQUIRE(key);
    c.iface.private_key.emplace(ByteView(key->data(), key->size()));
    c.iface.addresses.push_back({*IpAddress::parse("10.99.0.1"), 24});
    c.iface.listen_port = 51820;
    ProxyListener socks;
    socks.bind = *Endpoint::parse_numeric("127.0.0.1:1080");
    c.socks5.push_back(socks);
    CHECK(serialize(c) == std::string("[Interface]\nPrivateKey = ") + kPriv +
                              "\nAddress = 10.99.0.1/24\nListenPort = 51820\n\n[Socks5]\n"
                              "BindAddress = 127.0.0.1:1080\n");
}
