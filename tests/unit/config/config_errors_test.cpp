#include <doctest/doctest.h>

#include "config_test_util.hpp"
#include "core/config/parser.hpp"

using namespace tunless;
using namespace tunless::cfg;
using namespace tunless::cfg::test;

namespace {
std::string with_peer(std::string_view peer_lines) {
    return minimal_interface() + "[Peer]\nPublicKey = " + kPub + "\n" + std::string(peer_lines);
}
}  // namespace

TEST_CASE("syntax errors carry file:line") {
    expect_error(minimal_interface() + "ListenPort 51820\n",
                 "t.conf:4: expected 'Key = Value', got 'ListenPort 51820'");
    expect_error(minimal_interface() + "[Peer\n", "t.conf:4: malformed section header '[Peer'");
    expect_error(minimal_interface() + " = 5\n", "t.conf:4: missing key name before '='");
    expect_error(minimal_interface() + "MTU =\n", "t.conf:4: 'MTU' has no value");
    expect_error("Address = 10.0.0.1/24\n" + minimal_interface(),
                 "t.conf:1: 'Address' is outside of any section");
    expect_error("WGConfig = /etc/wireguard/wg0.conf\n" + minimal_interface(),
                 "t.conf:1: WGConfig (including another file) is not supported; put the "
                 "[Interface] and [Peer] sections in this file");
}

TEST_CASE("unknown sections and keys are errors") {
    expect_error(minimal_interface() + "[Bogus]\nFoo = 1\n", "t.conf:4: unknown section [Bogus]");
    expect_error(minimal_interface() + "Colour = blue\n",
                 "t.conf:4: unknown key 'Colour' in [Interface]");
    expect_error(with_peer("Table = off\n"), "t.conf:6: unknown key 'Table' in [Peer]");
    expect_error(minimal_interface() + "[Socks5]\nBindAddress = 127.0.0.1:1\nTarget = x:1\n",
                 "t.conf:6: unknown key 'Target' in [Socks5]");
    expect_error(minimal_interface() + "[http]\nBindAddress = 127.0.0.1:1\nCertFile = a.pem\n",
                 "t.conf:6: unknown key 'CertFile' in [http] (an HTTPS proxy listener is not "
                 "supported)");
}

TEST_CASE("duplicate singletons are errors") {
    expect_error(minimal_interface() + "ListenPort = 1\nlistenport = 2\n",
                 "t.conf:5: duplicate key 'listenport' in [Interface] (first set at line 4)");
    expect_error(minimal_interface() + "[Interface]\nMTU = 1400\n",
                 "t.conf:4: duplicate [Interface] section (first at line 1)");
    expect_error(with_peer(std::string("PublicKey = ") + kPub + "\n"),
                 "t.conf:6: duplicate key 'PublicKey' in [Peer] (first set at line 5)");
    expect_error(minimal_interface() + "[Resolve]\nResolveStrategy = auto\n[Resolve]\n",
                 "t.conf:6: duplicate [Resolve] section (first at line 4)");
    expect_error(with_peer("") + "[Peer]\nPublicKey = " + kPub + "\n",
                 "t.conf:6: duplicate [Peer]: the peer at line 4 has this PublicKey");
}

TEST_CASE("keys must be 44-char base64 of 32 bytes, and are never echoed") {
    const std::string bad_priv =
        "[Interface]\nPrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1=\n"
        "Address = 10.0.0.1/24\n";
    const ParseReport r = parse_report(bad_priv, "k.conf");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].to_string().rfind("k.conf:2: PrivateKey: not a valid key", 0) == 0);
    CHECK(r.errors[0].message.find("uCTIK") == std::string::npos);
    const ParseReport trailing = parse_report(
        "[Interface]\nPrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1R=\nAddress = "
        "10.0.0.1/24\n",
        "k.conf");
    CHECK(trailing.errors.size() == 1);  // non-zero trailing bits: wg rejects it too
    expect_error(with_peer("PresharedKey = abc\n"),
                 "t.conf:6: PresharedKey: not a valid key (expected 44 base64 characters encoding "
                 "32 bytes, as printed by `wg genkey`)");
}

TEST_CASE("ports, MTU and keepalive are range-checked") {
    expect_error(minimal_interface() + "ListenPort = 65536\n",
                 "t.conf:4: ListenPort: port '65536' is out of range (0-65535)");
    expect_error(minimal_interface() + "ListenPort = -1\n",
                 "t.conf:4: ListenPort: port '-1' is not a number");
    expect_error(minimal_interface() + "MTU = 500\n",
                 "t.conf:4: MTU: must be a number from 576 to 65535");
    expect_error(minimal_interface() + "Address = fd00::1/64\nMTU = 1000\n",
                 "t.conf:5: MTU: IPv6 needs at least 1280 (RFC 8200 §5)");
    expect_error(with_peer("PersistentKeepalive = 70000\n"),
                 "t.conf:6: PersistentKeepalive: '70000' is out of range (0-65535); use 0-65535 "
                 "seconds or off");
    expect_error(minimal_interface() + "[TCPServerTunnel]\nListenPort = 0\nTarget = a:1\n",
                 "t.conf:5: ListenPort: port must be 1-65535");
}

TEST_CASE("addresses, CIDRs and endpoints are validated") {
    expect_error(minimal_interface() + "Address = 10.0.0.300/24\n",
                 "t.conf:4: Address: '10.0.0.300/24' is not an IP address");
    expect_error(minimal_interface() + "Address = 10.0.0.3/33\n",
                 "t.conf:4: Address: '10.0.0.3/33': prefix length must be 0-32");
    expect_error(with_peer("AllowedIPs = 10.0.0.0/24, 10.1.0.0/99\n"),
                 "t.conf:6: AllowedIPs: '10.1.0.0/99' is not a CIDR (e.g. 10.0.0.0/24)");
    expect_error(with_peer("Endpoint = fd00::1:51820\n"),
                 "t.conf:6: Endpoint: 'fd00::1:51820' is not host:port (IPv6 as [addr]:port)");
    expect_error(with_peer("Endpoint = host.example:0\n"),
                 "t.conf:6: Endpoint: 'host.example:0': port must be 1-65535");
    expect_error(with_peer("Endpoint = bad host:1\n"),
                 "t.conf:6: Endpoint: 'bad host' is neither an IP address nor a host name");
    expect_error(minimal_interface() + "DNS = 1.1.1.1, not/valid\n",
                 "t.conf:4: DNS: 'not/valid' is neither an IP address nor a domain");
    expect_error(minimal_interface() + "[Socks5]\nBindAddress = proxy.example:1080\n",
                 "t.conf:5: BindAddress: bind address 'proxy.example' must be an IP address or "
                 "localhost");
}

TEST_CASE("required keys and sections") {
    expect_error("", "t.conf: no [Interface] section");
    expect_error(std::string("[Interface]\nPrivateKey = ") + kPriv + "\n",
                 "t.conf:1: [Interface] needs at least one Address (e.g. Address = 10.0.0.2/24)");
    expect_error("[Interface]\nAddress = 10.0.0.1/24\n",
                 "t.conf:1: [Interface] has no PrivateKey (generate one with `tunless genkey`)");
    expect_error(minimal_interface() + "[Peer]\nAllowedIPs = 10.0.0.0/24\n",
                 "t.conf:4: [Peer] has no PublicKey");
    expect_error(minimal_interface() + "[Socks5]\nMaxConnections = 5\n",
                 "t.conf:4: [Socks5] needs BindAddress");
    expect_error(minimal_interface() + "[Socks5]\nBindAddress = 127.0.0.1:1\nUsername = a\n",
                 "t.conf:4: [Socks5] needs both Username and Password, or neither");
    expect_error(minimal_interface() + "[TCPClientTunnel]\nBindAddress = 127.0.0.1:1\n",
                 "t.conf:4: [TCPClientTunnel] needs Target");
    expect_error(minimal_interface() + "[UDPServerTunnel]\nTarget = 127.0.0.1:53\n",
                 "t.conf:4: [UDPServerTunnel] needs ListenPort");
}

TEST_CASE("listener clashes, credentials and other values") {
    expect_error(minimal_interface() +
                     "[Socks5]\nBindAddress = 127.0.0.1:1080\n"
                     "[http]\nBindAddress = :1080\n",
                 "t.conf:6: BindAddress 127.0.0.1:1080 is already used by [Socks5] at line 4");
    expect_error(minimal_interface() +
                     "[TCPServerTunnel]\nListenPort = 80\nTarget = a:1\n"
                     "[TCPServerTunnel]\nListenPort = 80\nTarget = b:1\n",
                 "t.conf:7: ListenPort 80 is already used by [TCPServerTunnel] at line 4");
    expect_error(minimal_interface() +
                     "[Socks5]\nBindAddress = 127.0.0.1:1\nUsername = a:b\n"
                     "Password = x\n",
                 "t.conf:6: Username: Username must not contain ':' (RFC 7617)");
    expect_error(minimal_interface() +
                     "[UDPProxyTunnel]\nBindAddress = 127.0.0.1:1\nTarget = a:1\n"
                     "InactivityTimeout = soon\n",
                 "t.conf:7: InactivityTimeout: 'soon' is not a number");
    expect_error(minimal_interface() + "[Resolve]\nResolveStrategy = ipv5\n",
                 "t.conf:5: ResolveStrategy: must be auto, ipv4 or ipv6");
}

TEST_CASE("several errors are all reported, in line order; parse() joins them") {
    const std::string text = "[Interface]\nListenPort = x\nMTU = 1\nAddress = nope\n[What]\n";
    const ParseReport r = parse_report(text, "m.conf");
    REQUIRE(r.errors.size() == 6);
    CHECK(r.errors[0].line == 1);  // missing PrivateKey, missing Address (section line)
    CHECK(r.errors[1].line == 1);
    CHECK(r.errors[2].line == 2);
    CHECK(r.errors[3].line == 3);
    CHECK(r.errors[4].line == 4);
    CHECK(r.errors[5].to_string() == "m.conf:5: unknown section [What]");
    auto joined = parse(text, "m.conf");
    REQUIRE_FALSE(joined);
    CHECK(joined.error().code == Errc::kInvalidArgument);
    CHECK(joined.error().message.find("m.conf:2: ListenPort") != std::string::npos);
    CHECK(std::count(joined.error().message.begin(), joined.error().message.end(), '\n') == 5);
}

TEST_CASE("the error list is bounded") {
    std::string text = minimal_interface();
    for (int i = 0; i < 200; ++i) {
        text += "Bogus = 1\n";
    }
    const ParseReport r = parse_report(text, "b.conf");
    REQUIRE(r.errors.size() == kMaxErrors);
    CHECK(r.errors.back().to_string() == "b.conf: 151 more errors not shown");
}
