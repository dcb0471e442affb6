#include <doctest/doctest.h>

#include "config_test_util.hpp"
#include "core/config/parser.hpp"

using namespace tunless;
using namespace tunless::cfg;
using namespace tunless::cfg::test;

// The "Sample config file" of wireproxy's README (github.com/windtf/wireproxy, formerly
// pufferffish/wireproxy, README.md at commit 31a9a34), unchanged.
constexpr const char* kWireproxyReadmeSample =
    R"(# The [Interface] and [Peer] configurations follow the same semantics and meaning
# of a wg-quick configuration. To understand what these fields mean, please refer to:
# https://wiki.archlinux.org/title/WireGuard#Persistent_configuration
# https://www.wireguard.com/#simple-network-interface
[Interface]
Address = 10.200.200.2/32 # The subnet should be /32 and /128 for IPv4 and v6 respectively
# MTU = 1420 (optional)
PrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=
# PrivateKey = $MY_WIREGUARD_PRIVATE_KEY # Alternatively, reference environment variables
DNS = 10.200.200.1

[Peer]
PublicKey = QP+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg=
# PresharedKey = UItQuvLsyh50ucXHfjF0bbR4IIpVBd74lwKc8uIPXXs= (optional)
Endpoint = my.ddns.example.com:51820
# PersistentKeepalive = 25 (optional)

# TCPClientTunnel is a tunnel listening on your machine,
# and it forwards any TCP traffic received to the specified target via wireguard.
# Flow:
# <an app on your LAN> --> localhost:25565 --(wireguard)--> play.cubecraft.net:25565
[TCPClientTunnel]
BindAddress = 127.0.0.1:25565
Target = play.cubecraft.net:25565

# TCPServerTunnel is a tunnel listening on wireguard,
# and it forwards any TCP traffic received to the specified target via local network.
# Flow:
# <an app on your wireguard network> --(wireguard)--> 172.16.31.2:3422 --> localhost:25545
[TCPServerTunnel]
ListenPort = 3422
Target = localhost:25545

# STDIOTunnel is a tunnel connecting the standard input and output of the wireproxy
# process to the specified TCP target via wireguard.
# This is especially useful to use wireproxy as a ProxyCommand parameter in openssh
# For example:
#    ssh -o ProxyCommand='wireproxy -c myconfig.conf' ssh.myserver.net
# Flow:
# Piped command -->(wireguard)--> ssh.myserver.net:22
[STDIOTunnel]
Target = ssh.myserver.net:22

# Socks5 creates a socks5 proxy on your LAN, and all traffic would be routed via wireguard.
[Socks5]
BindAddress = 127.0.0.1:25344

# Socks5 authentication parameters, specifying username and password enables
# proxy authentication.
#Username = ...
# Avoid using spaces in the password field
#Password = ...

# http creates a http proxy on your LAN, and all traffic would be routed via wireguard.
[http]
BindAddress = 127.0.0.1:25345

# HTTP authentication parameters, specifying username and password enables
# proxy authentication.
#Username = ...
# Avoid using spaces in the password field
#Password = ...

# Specifying certificate and key enables HTTPS
#CertFile = ...
#KeyFile = ...

# SNI creates a transparent TLS proxy on your LAN, and all traffic would be routed via wireguard,
# using Server Name Indication as routing destination.
[SNI]
BindAddress = 0.0.0.0:443
)";

TEST_CASE("wireproxy's README sample config parses unchanged") {
    const ParseReport r = parse_report(kWireproxyReadmeSample, "wireproxy.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    const Config& c = r.config;
    REQUIRE(c.iface.addresses.size() == 1);
    CHECK(c.iface.addresses[0].to_string() == "10.200.200.2/32");
    CHECK(c.iface.mtu == 1420);
    REQUIRE(c.iface.dns.size() == 1);
    CHECK(c.iface.dns[0].to_string() == "10.200.200.1");
    REQUIRE(c.peers.size() == 1);
    CHECK(c.peers[0].endpoint->to_string() == "my.ddns.example.com:51820");
    CHECK_FALSE(c.peers[0].preshared_key);
    REQUIRE(c.tcp_client_tunnels.size() == 1);
    CHECK(c.tcp_client_tunnels[0].bind.to_string() == "127.0.0.1:25565");
    CHECK(c.tcp_client_tunnels[0].target.to_string() == "play.cubecraft.net:25565");
    REQUIRE(c.tcp_server_tunnels.size() == 1);
    CHECK(c.tcp_server_tunnels[0].listen_port == 3422);
    CHECK(c.tcp_server_tunnels[0].target.to_string() == "localhost:25545");
    REQUIRE(c.socks5.size() == 1);
    CHECK(c.socks5[0].bind.to_string() == "127.0.0.1:25344");
    CHECK(c.socks5[0].username.empty());
    REQUIRE(c.http.size() == 1);
    CHECK(c.http[0].bind.to_string() == "127.0.0.1:25345");
    // The two wireproxy features tunless lacks are named, not silently dropped.
    INFO(warnings_of(r));
    REQUIRE(r.warnings.size() == 2);
    CHECK(r.warnings[0].to_string() ==
          "wireproxy.conf:41: section [STDIOTunnel] (wireproxy) is not supported by tunless; "
          "ignored");
    CHECK(r.warnings[1].line == 70);
}

// wireproxy README's multi-peer, UDP and [Resolve] example, with its placeholder keys
// ("XXXX...=") replaced by real ones (the placeholders are not valid keys).
TEST_CASE("wireproxy multi-peer, repeated TCPServerTunnel, UDPProxyTunnel and Resolve") {
    const std::string text = std::string(R"([Interface]
Address = 10.254.254.40/32
PrivateKey = )") + kPriv + R"(

[Peer]
Endpoint = 192.168.0.204:51820
PublicKey = )" + kPub + R"(
AllowedIPs = 10.254.254.100/32
PersistentKeepalive = 25

[Peer]
PublicKey = )" + kPsk + R"(
AllowedIPs = 10.254.254.1/32, fdee:1337:c000:d00d::1/128
Endpoint = 172.16.0.185:44044
PersistentKeepalive = 25


[TCPServerTunnel]
ListenPort = 5000
Target = service-one.servicenet:5000

[TCPServerTunnel]
ListenPort = 5001
Target = service-two.servicenet:5001

[TCPServerTunnel]
ListenPort = 5080
Target = service-three.servicenet:80

[UDPProxyTunnel]
BindAddress = 127.0.0.1:53
Target = 1.1.1.1:53
InactivityTimeout = 30 # If its set to 0, it will never timeout

[Resolve]
# Set DNS Resovle Strategy
ResolveStrategy = auto 
)";
    const ParseReport r = parse_report(text, "multi.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    CHECK(r.warnings.empty());
    REQUIRE(r.config.peers.size() == 2);
    CHECK(r.config.peers[1].allowed_ips[1].to_string() == "fdee:1337:c000:d00d::1/128");
    REQUIRE(r.config.tcp_server_tunnels.size() == 3);
    CHECK(r.config.tcp_server_tunnels[2].target.to_string() == "service-three.servicenet:80");
    REQUIRE(r.config.udp_proxy_tunnels.size() == 1);
    CHECK(r.config.udp_proxy_tunnels[0].inactivity_timeout_s == 30);
    CHECK(r.config.resolve_strategy == ResolveStrategy::kAuto);
}

TEST_CASE("wg-quick-only and wireproxy-health keys are accepted with a warning each") {
    const std::string text =
        minimal_interface() +
        "Table = off\nPreUp = true\nPostUp = iptables -A FORWARD\nPreDown = x\n"
        "PostDown = y\nSaveConfig = true\nFwMark = 0x1234\n"
        "CheckAlive = 1.1.1.1\nCheckAliveInterval = 5\n";
    const ParseReport r = parse_report(text, "wgq.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    REQUIRE(r.warnings.size() == 9);
    CHECK(r.warnings[0].to_string() ==
          "wgq.conf:4: 'Table' is a wg-quick setting for a kernel interface; tunless has none, "
          "ignored");
    CHECK(r.warnings[6].line == 10);
    CHECK(r.warnings[7].to_string() ==
          "wgq.conf:11: 'CheckAlive' (wireproxy health check) is not supported, ignored");
}

TEST_CASE("warnings: unauthenticated proxy on a public address, AllowedIPs given twice") {
    const std::string text = minimal_interface() + "[Socks5]\nBindAddress = 0.0.0.0:1080\n" +
                             "[Peer]\nPublicKey = " + kPub + "\nAllowedIPs = 10.5.0.0/16\n" +
                             "[Peer]\nPublicKey = " + kPsk + "\nAllowedIPs = 10.5.0.0/16\n";
    const ParseReport r = parse_report(text, "w.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    REQUIRE(r.warnings.size() == 2);
    CHECK(r.warnings[0].to_string() ==
          "w.conf:4: [Socks5] listens on 0.0.0.0:1080 without authentication: anyone who can "
          "reach it can use the mesh");
    CHECK(r.warnings[1].to_string() ==
          "w.conf:9: AllowedIPs 10.5.0.0/16 also belongs to the peer at line 6; this later peer "
          "gets it (as with wg)");
}

TEST_CASE("TCPServerTunnel ProxyProtocol (tunless): true/false, default off, serialized back") {
    const std::string text = minimal_interface() +
                             "[TCPServerTunnel]\nListenPort = 23\nTarget = 127.0.0.1:2323\n"
                             "ProxyProtocol = true\n"
                             "[TCPServerTunnel]\nListenPort = 24\nTarget = 127.0.0.1:2424\n";
    const ParseReport r = parse_report(text, "pp.conf");
    INFO(errors_of(r));
    REQUIRE(r.ok());
    REQUIRE(r.config.tcp_server_tunnels.size() == 2);
    CHECK(r.config.tcp_server_tunnels[0].proxy_protocol);
    CHECK_FALSE(r.config.tcp_server_tunnels[1].proxy_protocol);
    const std::string out = serialize(r.config);
    CHECK(out.find("ProxyProtocol = true") != std::string::npos);
    const ParseReport again = parse_report(out, "pp2.conf");
    REQUIRE(again.ok());
    CHECK(again.config.tcp_server_tunnels[0].proxy_protocol);
    CHECK_FALSE(again.config.tcp_server_tunnels[1].proxy_protocol);

    expect_error(minimal_interface() +
                     "[TCPServerTunnel]\nListenPort = 23\nTarget = 127.0.0.1:23\nProxyProtocol = 2\n",
                 "t.conf:7: ProxyProtocol: expected true or false");
    expect_error(minimal_interface() +
                     "[TCPClientTunnel]\nBindAddress = :1\nTarget = 10.0.0.1:1\nProxyProtocol = true\n",
                 "t.conf:7: unknown key 'ProxyProtocol' in [TCPClientTunnel]");
}
