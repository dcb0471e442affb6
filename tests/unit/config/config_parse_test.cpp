#include <doctest/doctest.h>

#include "config_test_util.hpp"
#include "core/config/parser.hpp"

using namespace tunless;
using namespace tunless::cfg;
using namespace tunless::cfg::test;

TEST_CASE("a full file with every key parses into the model") {
    const std::string text = std::string(R"(# tunless node
[Interface]
PrivateKey = )") + kPriv + R"(
Address = 10.99.0.1/24, fd00:99::1/64
address = 10.98.0.1/16     # repeatable, keys are case-insensitive
ListenPort = 51820
MTU = 1380
DNS = 10.99.0.53, fd00:99::53, mesh.example
; an INI-style comment line

[Peer]
PublicKey = )" + kPub + R"(
PresharedKey = )" + kPsk + R"(
AllowedIPs = 10.99.0.2/32, fd00:99::2/128
AllowedIPs = 192.168.50.0/24
Endpoint = peer.example.net:51821
PersistentKeepalive = 25

[peer]
PUBLICKEY = )" + kPriv + R"(
Endpoint = [2001:db8::7]:51820
PersistentKeepalive = off

[Socks5]
BindAddress = 127.0.0.1:1080
Username = alice
Password = s3cret!
MaxConnections = 64

[http]
BindAddress = :8080

[TCPClientTunnel]
BindAddress = 127.0.0.1:2222
Target = 10.99.0.2:22

[TCPServerTunnel]
ListenPort = 8000
Target = localhost:80
MaxConnections = 10

[UDPProxyTunnel]
BindAddress = [::1]:5353
Target = 10.99.0.53:53
InactivityTimeout = 30

[UDPServerTunnel]
ListenPort = 5353
Target = 127.0.0.1:53
InactivityTimeout = 60
MaxConnections = 100

[Resolve]
ResolveStrategy = IPv4
)";
    const ParseReport r = parse_report(text, "full.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    CHECK(r.warnings.empty());
    const Config& c = r.config;
    CHECK(c.file == "full.conf");
    CHECK(c.iface.line == 2);
    REQUIRE(c.iface.private_key);
    CHECK(crypto::key_to_base64(c.iface.private_key->view()) == kPriv);
    REQUIRE(c.iface.addresses.size() == 3);
    CHECK(c.iface.addresses[0].to_string() == "10.99.0.1/24");
    CHECK(c.iface.addresses[0].network().to_string() == "10.99.0.0/24");
    CHECK(c.iface.addresses[1].to_string() == "fd00:99::1/64");
    CHECK(c.iface.addresses[2].to_string() == "10.98.0.1/16");
    CHECK(c.iface.listen_port == 51820);
    CHECK(c.iface.mtu == 1380);
    REQUIRE(c.iface.dns.size() == 2);
    CHECK(c.iface.dns[1].to_string() == "fd00:99::53");
    CHECK(c.iface.dns_search == std::vector<std::string>{"mesh.example"});

    REQUIRE(c.peers.size() == 2);
    const PeerEntry& p = c.peers[0];
    CHECK(p.line == 11);
    CHECK(crypto::key_to_base64(p.public_key.view()) == kPub);
    REQUIRE(p.preshared_key);
    CHECK(crypto::key_to_base64(p.preshared_key->view()) == kPsk);
    REQUIRE(p.allowed_ips.size() == 3);
    CHECK(p.allowed_ips[2].to_string() == "192.168.50.0/24");
    REQUIRE(p.endpoint);
    CHECK(p.endpoint->host == "peer.example.net");
    CHECK(p.endpoint->port == 51821);
    CHECK_FALSE(p.endpoint->ip);
    CHECK(p.persistent_keepalive == 25);
    REQUIRE(c.peers[1].endpoint);
    CHECK(c.peers[1].endpoint->ip->to_string() == "2001:db8::7");
    CHECK(c.peers[1].endpoint->to_string() == "[2001:db8::7]:51820");
    CHECK(c.peers[1].persistent_keepalive == 0);
    CHECK(c.peers[1].allowed_ips.empty());

    REQUIRE(c.socks5.size() == 1);
    CHECK(c.socks5[0].bind.to_string() == "127.0.0.1:1080");
    CHECK(c.socks5[0].username == "alice");
    CHECK(c.socks5[0].password == "s3cret!");
    CHECK(c.socks5[0].max_connections == 64);
    REQUIRE(c.http.size() == 1);
    CHECK(c.http[0].bind.to_string() == "127.0.0.1:8080");  // no host: loopback
    REQUIRE(c.tcp_client_tunnels.size() == 1);
    CHECK(c.tcp_client_tunnels[0].target.to_string() == "10.99.0.2:22");
    REQUIRE(c.tcp_server_tunnels.size() == 1);
    CHECK(c.tcp_server_tunnels[0].listen_port == 8000);
    CHECK(c.tcp_server_tunnels[0].target.host == "localhost");
    CHECK(c.tcp_server_tunnels[0].max_connections == 10);
    REQUIRE(c.udp_proxy_tunnels.size() == 1);
    CHECK(c.udp_proxy_tunnels[0].bind.to_string() == "[::1]:5353");
    CHECK(c.udp_proxy_tunnels[0].inactivity_timeout_s == 30);
    REQUIRE(c.udp_server_tunnels.size() == 1);
    CHECK(c.udp_server_tunnels[0].listen_port == 5353);
    CHECK(c.udp_server_tunnels[0].inactivity_timeout_s == 60);
    CHECK(c.udp_server_tunnels[0].max_connections == 100);
    CHECK(c.resolve_strategy == ResolveStrategy::kIpv4);
}

TEST_CASE("defaults: MTU 1420, random port, no peers needed") {
    auto r = parse(minimal_interface(), "min.conf");
    REQUIRE(r);
    CHECK(r->config.iface.mtu == 1420);
    CHECK(r->config.iface.listen_port == 0);
    CHECK(r->config.peers.empty());
    CHECK(r->config.resolve_strategy == ResolveStrategy::kAuto);
    CHECK(r->warnings.empty());
}

TEST_CASE("whitespace, CRLF line ends, bare addresses and empty list values") {
    const std::string text = std::string("\t[ Interface ]  \r\n  PrivateKey=") + kPriv +
                             "\r\nAddress=10.0.0.2\r\nAddress =\r\nDNS =\r\n\r\n[Peer]\r\n"
                             "PublicKey=" +
                             kPub + "\r\nAllowedIPs = 10.1.2.3/8 ,, ::/0 \r\n";
    const ParseReport r = parse_report(text, "crlf.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    CHECK(r.config.iface.addresses[0].to_string() == "10.0.0.2/32");
    REQUIRE(r.config.peers[0].allowed_ips.size() == 2);
    CHECK(r.config.peers[0].allowed_ips[0].to_string() == "10.0.0.0/8");  // host bits masked
    CHECK(r.config.peers[0].allowed_ips[1].to_string() == "::/0");
}

TEST_CASE("a missing PrivateKey is allowed when the caller generates one") {
    ParseOptions o;
    o.require_private_key = false;
    auto r = parse("[Interface]\nAddress = 10.0.0.1/24\n", "gen.conf", o);
    REQUIRE(r);
    CHECK_FALSE(r->config.iface.private_key);
}

TEST_CASE("environment references: $NAME through the lookup, $$ as a literal dollar") {
    ParseOptions o;
    o.lookup_env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "WG_KEY") {
            return std::string(kPriv) + "\n";
        }
        return std::nullopt;
    };
    const std::string text =
        "[Interface]\nPrivateKey = $WG_KEY\nAddress = 10.0.0.1/24\n"
        "[Socks5]\nBindAddress = 127.0.0.1:1080\nUsername = bob\n"
        "Password = $$notavar\n";
    auto r = parse(text, "env.conf", o);
    REQUIRE(r);
    CHECK(crypto::key_to_base64(r->config.iface.private_key->view()) == kPriv);
    CHECK(r->config.socks5[0].password == "$notavar");

    const ParseReport bad =
        parse_report("[Interface]\nPrivateKey = $NOPE\nAddress = 10.0.0.1/24\n", "env.conf", o);
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].to_string() ==
          "env.conf:2: PrivateKey: environment variable NOPE is not set");
}
