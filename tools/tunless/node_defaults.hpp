// The node config `tunless up` writes on first start, and the [Peer] snippet it prints for
// the other side. Pure functions of the key and port (testable, deterministic).
// Addresses are derived from the public key so that default nodes do not collide:
//   IPv4 10.99.A.B/16 (A, B from key bytes; B avoids 0 and 255),
//   IPv6 fdXX:XXXX:XXXX:XXXX::1/64, a ULA prefix (RFC 4193 §3.1) whose 56 bits of global ID
//   and subnet come from the key (instead of RFC 4193 §3.2.2's SHA-1 of time and EUI-64).
#pragma once

#include <cstdint>
#include <string>

#include "core/config/config.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::cli {

inline constexpr std::uint16_t kDefaultListenPort = 51820;
inline constexpr const char* kDefaultSocksBind = "127.0.0.1:1080";

cfg::InterfaceAddress default_ipv4_address(const crypto::PublicKey& key);
cfg::InterfaceAddress default_ipv6_address(const crypto::PublicKey& key);

// [Interface] with the key, both default addresses, `listen_port`; one [Socks5] on loopback.
cfg::Config default_node_config(const crypto::PrivateKey& key, std::uint16_t listen_port);

// The text written to the new config file: a comment header plus cfg::serialize(config).
std::string default_config_text(const cfg::Config& config);

// A ready-to-paste [Peer] section describing this node to another one: its public key,
// AllowedIPs = its addresses as /32 and /128, and an Endpoint placeholder with the port.
std::string peer_snippet(const crypto::PublicKey& key, const cfg::InterfaceConfig& iface);

}  // namespace tunless::cli
