// The configuration model: what a tunless config file says, as plain values. Filled by
// cfg::parse (parser.hpp) from wg-quick syntax plus wireproxy's proxy/tunnel sections, and
// written back by cfg::serialize. It holds no resources and does no I/O; host names are
// kept unresolved (the daemon resolves them through transports/resolver). Line numbers of
// each section are kept so later stages can still report "file:line: message".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::cfg {

inline constexpr std::uint16_t kDefaultMtu = 1420;  // wg-quick's default
// With [Tailnet]: Tailscale's safeTUNMTU (tailscale net/tstun/mtu.go), the IPv6 minimum, which
// every tailnet path carries (tailnet nodes always have an IPv6 address).
inline constexpr std::uint16_t kTailnetMtu = 1280;

// "host:port" as written. `ip` is set when `host` is a numeric address; otherwise `host` is a
// name resolved later (peer Endpoint: at `up`; forward targets: per connection).
struct NamedEndpoint {
    std::string host;  // without IPv6 brackets
    std::uint16_t port = 0;
    std::optional<IpAddress> ip;

    std::string to_string() const;  // "name:1", "10.0.0.1:1", "[fd00::1]:1"
    bool operator==(const NamedEndpoint&) const = default;
};

// An interface address keeps its host part: 10.99.0.1/24 is the address 10.99.0.1 on the
// network 10.99.0.0/24 (IpPrefix would mask it to 10.99.0.0).
struct InterfaceAddress {
    IpAddress address;
    std::uint8_t prefix_len = 0;

    IpPrefix network() const { return IpPrefix(address, prefix_len); }
    std::string to_string() const;  // "10.99.0.1/24"
    bool operator==(const InterfaceAddress&) const = default;
};

// [Interface] (wg-quick). wg-quick keys that need a kernel interface (Table, FwMark,
// Pre/PostUp/Down, SaveConfig) are accepted with a warning and not stored.
struct InterfaceConfig {
    int line = 0;  // of the [Interface] header
    std::optional<crypto::PrivateKey> private_key;
    std::vector<InterfaceAddress> addresses;  // Address, repeatable; at least one
    std::uint16_t listen_port = 0;            // ListenPort; 0 = random (wg semantics)
    std::uint16_t mtu = kDefaultMtu;          // MTU
    std::vector<IpAddress> dns;               // DNS servers (for the proxy's resolver)
    std::vector<std::string> dns_search;      // DNS entries that are not IPs (wg-quick)
};

// [Peer] (wg-quick). Several allowed; public keys are unique.
struct PeerEntry {
    int line = 0;
    crypto::PublicKey public_key;
    std::optional<crypto::SymmetricKey> preshared_key;
    std::vector<IpPrefix> allowed_ips;       // AllowedIPs, repeatable (may be empty)
    std::optional<NamedEndpoint> endpoint;   // Endpoint; absent: learnt from the peer
    std::uint16_t persistent_keepalive = 0;  // seconds; 0 = off
};

// [Socks5] and [http] (wireproxy): a local proxy listener whose connections go out through
// the mesh. BindAddress without a host (":1080") binds loopback, not all interfaces.
// Bind addresses are numeric Endpoints (ip + port); their kind is always kUdp, which TCP
// listeners ignore.
struct ProxyListener {
    int line = 0;
    Endpoint bind;
    std::string username;  // both empty = no authentication
    std::string password;
    std::uint32_t max_connections = 0;  // MaxConnections (tunless); 0 = built-in cap

    bool operator==(const ProxyListener&) const = default;
};

// [TCPClientTunnel] (wireproxy): listen locally on `bind`, connect to `target` via the mesh.
struct TcpClientTunnel {
    int line = 0;
    Endpoint bind;
    NamedEndpoint target;
    std::uint32_t max_connections = 0;

    bool operator==(const TcpClientTunnel&) const = default;
};

// [TCPServerTunnel] (wireproxy): listen on the mesh address at `listen_port`, connect to
// `target` on the local network.
struct TcpServerTunnel {
    int line = 0;
    std::uint16_t listen_port = 0;
    NamedEndpoint target;
    std::uint32_t max_connections = 0;
    // ProxyProtocol (tunless): prefix each connection to `target` with a PROXY protocol v2
    // header naming the mesh peer (docs/proxy-protocols.md).
    bool proxy_protocol = false;

    bool operator==(const TcpServerTunnel&) const = default;
};

// [UDPProxyTunnel] (wireproxy): local UDP `bind` <-> `target` via the mesh, one flow per
// local source. InactivityTimeout in seconds, 0 = never (wireproxy's default); flows are
// still bounded by max_connections with eviction.
struct UdpProxyTunnel {
    int line = 0;
    Endpoint bind;
    NamedEndpoint target;
    std::uint32_t inactivity_timeout_s = 0;
    std::uint32_t max_connections = 0;

    bool operator==(const UdpProxyTunnel&) const = default;
};

// [UDPServerTunnel] (tunless; the inbound counterpart of UDPProxyTunnel): UDP on the mesh
// address at `listen_port` <-> `target` on the local network, one flow per mesh source.
struct UdpServerTunnel {
    int line = 0;
    std::uint16_t listen_port = 0;
    NamedEndpoint target;
    std::uint32_t inactivity_timeout_s = 0;
    std::uint32_t max_connections = 0;

    bool operator==(const UdpServerTunnel&) const = default;
};

// [Resolve] ResolveStrategy (wireproxy): which address family a name resolved for a
// proxy/tunnel target prefers. kAuto: IPv6 when the interface has an IPv6 address.
enum class ResolveStrategy : std::uint8_t { kAuto, kIpv4, kIpv6 };

// [Limits] (tunless; at most one): process-wide caps of the built-in TCP/IP stack. 0 keeps
// the built-in default (net::StackConfig). Applied at start; a reload keeps the running values.
struct LimitsConfig {
    int line = 0;                          // of the [Limits] header; 0 = no section
    std::uint32_t max_tcp_connections = 0; // MaxTcpConnections: mesh TCP connections, all services
    std::uint32_t stack_memory_mib = 0;    // StackMemoryMiB: cap on the stack's buffers (MiB)
};

// [Tailnet] ControlURL: "http(s)://host[:port]" with no path. The ts2021 control protocol
// lives at the server root (tailscale control/controlhttp: "/ts2021", "/key").
struct ControlUrl {
    bool https = true;
    std::string host;             // without IPv6 brackets
    std::optional<IpAddress> ip;  // set when `host` is a numeric address
    std::uint16_t port = 0;       // as written; 0 = the scheme's default

    std::uint16_t effective_port() const { return port != 0 ? port : (https ? 443 : 80); }
    std::string to_string() const;  // "https://host", "http://[fd00::1]:8080"
    bool operator==(const ControlUrl&) const = default;
};

// [Tailnet] AuthKey: a pre-auth key written in the config, or "file:/path" naming a file that
// tools/ reads at start. Absent: interactive login (the login URL is printed and logged).
struct AuthKeySource {
    enum class Kind : std::uint8_t { kNone, kLiteral, kFile };
    Kind kind = Kind::kNone;
    std::string value;  // the key itself (a secret: never log it) or the absolute file path

    bool operator==(const AuthKeySource&) const = default;
};

// [Tailnet] (tunless; at most one): join a Tailscale/headscale tailnet instead of listing
// peers. The node key and addresses come from the control server, so [Interface] then has no
// PrivateKey/Address and there are no [Peer] sections (docs/configuration.md).
struct TailnetConfig {
    int line = 0;                                  // of the [Tailnet] header; 0 = no section
    ControlUrl control_url;                        // ControlURL (required)
    AuthKeySource auth_key;                        // AuthKey
    std::string hostname;                          // Hostname; empty = gethostname() (tools/)
    bool ephemeral = false;                        // Ephemeral
    std::optional<crypto::PublicKey> control_key;  // ControlKey "mkey:..."; skips GET /key
    std::string ca_file;                           // CAFile (absolute path); empty = system CAs

    bool enabled() const { return line != 0; }
};

struct Config {
    std::string file;  // as passed to parse(), for later diagnostics
    InterfaceConfig iface;  // with [Tailnet]: no private_key, no addresses
    TailnetConfig tailnet;
    std::vector<PeerEntry> peers;
    std::vector<ProxyListener> socks5;
    std::vector<ProxyListener> http;
    std::vector<TcpClientTunnel> tcp_client_tunnels;
    std::vector<TcpServerTunnel> tcp_server_tunnels;
    std::vector<UdpProxyTunnel> udp_proxy_tunnels;
    std::vector<UdpServerTunnel> udp_server_tunnels;
    ResolveStrategy resolve_strategy = ResolveStrategy::kAuto;
    LimitsConfig limits;
};

// The config in the syntax parse() reads (sections in the order above, keys in canonical
// case). Contains the private key and a literal AuthKey: write it only to a 0600 file.
std::string serialize(const Config& config);

}  // namespace tunless::cfg
