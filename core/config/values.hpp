// Value parsers for single config values (the text right of '='). Internal to core/config:
// each returns the value or an Error whose message reads well after "file:line: ", and never
// echoes key material. Used by the section parsers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/config/config.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::cfg::detail {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
// Comma-separated list, items trimmed, empty items skipped ("a, b,,c" -> a b c).
std::vector<std::string_view> split_list(std::string_view s);

// Decimal digits only (no sign, no spaces), value <= max.
Result<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max);
Result<std::uint16_t> parse_port(std::string_view s, bool allow_zero);
// 0..65535 or "off" (wg(8)).
Result<std::uint16_t> parse_keepalive(std::string_view s);
// 44-char base64 of 32 bytes (wg's format).
Result<std::array<std::uint8_t, crypto::kKeyLen>> parse_key(std::string_view s);
// "10.0.0.1/24", "fd00::1/64", bare address = /32 or /128.
Result<InterfaceAddress> parse_interface_address(std::string_view s);
// A CIDR for AllowedIPs; host bits are masked off (as the kernel does).
Result<IpPrefix> parse_allowed_ip(std::string_view s);
// "host:port", "[v6]:port"; a name must look like a DNS name (letters, digits, '-', '.', '_').
Result<NamedEndpoint> parse_named_endpoint(std::string_view s);
// A local listen address: "ip:port", "[v6]:port", "localhost:port" and ":port" (loopback).
Result<Endpoint> parse_bind_address(std::string_view s);
// [Tailnet] ControlURL: "http://" or "https://" (any case), host name or IP ("[v6]"),
// optional ":port", optional trailing "/"; no user info, path or query.
Result<ControlUrl> parse_control_url(std::string_view s);
// Proxy username/password field: 1..255 bytes (RFC 1929 §2), printable, no spaces.
Status check_credential(std::string_view s, bool is_username);

}  // namespace tunless::cfg::detail
