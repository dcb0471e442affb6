#include "core/config/values.hpp"

#include <charconv>
#include <optional>

namespace tunless::cfg::detail {
namespace {

bool is_hostname_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

bool is_hostname(std::string_view s) {
    if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') {
        return false;
    }
    for (char c : s) {
        if (!is_hostname_char(c)) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\r\n\f\v";
    const auto b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) {
        return {};
    }
    const auto e = s.find_last_not_of(kSpace);
    return s.substr(b, e - b + 1);
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::vector<std::string_view> split_list(std::string_view s) {
    std::vector<std::string_view> out;
    while (true) {
        const auto comma = s.find(',');
        const std::string_view item = trim(s.substr(0, comma));
        if (!item.empty()) {
            out.push_back(item);
        }
        if (comma == std::string_view::npos) {
            return out;
        }
        s.remove_prefix(comma + 1);
    }
}

Result<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
    std::uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec == std::errc::invalid_argument || p != s.data() + s.size()) {
        return fail(Errc::kInvalidArgument, "'" + std::string(s) + "' is not a number");
    }
    if (ec == std::errc::result_out_of_range || v > max) {
        return fail(Errc::kInvalidArgument,
                    "'" + std::string(s) + "' is out of range (0-" + std::to_string(max) + ")");
    }
    return v;
}

Result<std::uint16_t> parse_port(std::string_view s, bool allow_zero) {
    auto v = parse_uint(s, 65535);
    if (!v) {
        return fail(Errc::kInvalidArgument, "port " + v.error().message);
    }
    if (*v == 0 && !allow_zero) {
        return fail(Errc::kInvalidArgument, "port must be 1-65535");
    }
    return static_cast<std::uint16_t>(*v);
}

Result<std::uint16_t> parse_keepalive(std::string_view s) {
    if (to_lower(s) == "off") {
        return std::uint16_t{0};
    }
    auto v = parse_uint(s, 65535);
    if (!v) {
        return fail(Errc::kInvalidArgument, v.error().message + "; use 0-65535 seconds or off");
    }
    return static_cast<std::uint16_t>(*v);
}

Result<std::array<std::uint8_t, crypto::kKeyLen>> parse_key(std::string_view s) {
    auto key = crypto::key_from_base64(s);
    if (!key) {
        // Never echo the text: it may be a private key with a typo.
        return fail(Errc::kInvalidArgument,
                    "not a valid key (expected 44 base64 characters encoding 32 bytes, as "
                    "printed by `wg genkey`)");
    }
    return *key;
}

Result<InterfaceAddress> parse_interface_address(std::string_view s) {
    const auto slash = s.find('/');
    auto ip = IpAddress::parse(s.substr(0, slash));
    if (!ip) {
        return fail(Errc::kInvalidArgument, "'" + std::string(s) + "' is not an IP address");
    }
    const unsigned max = ip->is_v4() ? 32 : 128;
    unsigned bits = max;
    if (slash != std::string_view::npos) {
        auto b = parse_uint(s.substr(slash + 1), max);
        if (!b) {
            return fail(Errc::kInvalidArgument,
                        "'" + std::string(s) + "': prefix length must be 0-" + std::to_string(max));
        }
        bits = static_cast<unsigned>(*b);
    }
    return InterfaceAddress{*ip, static_cast<std::uint8_t>(bits)};
}

Result<IpPrefix> parse_allowed_ip(std::string_view s) {
    auto p = IpPrefix::parse(s);
    if (!p) {
        return fail(Errc::kInvalidArgument,
                    "'" + std::string(s) + "' is not a CIDR (e.g. 10.0.0.0/24)");
    }
    return *p;
}

Result<NamedEndpoint> parse_named_endpoint(std::string_view s) {
    auto hp = split_host_port(s);
    if (!hp) {
        return fail(Errc::kInvalidArgument,
                    "'" + std::string(s) + "' is not host:port (IPv6 as [addr]:port)");
    }
    if (hp->port == 0) {
        return fail(Errc::kInvalidArgument, "'" + std::string(s) + "': port must be 1-65535");
    }
    NamedEndpoint out{hp->host, hp->port, IpAddress::parse(hp->host)};
    if (!out.ip && (s.front() == '[' || !is_hostname(hp->host))) {
        return fail(Errc::kInvalidArgument,
                    "'" + hp->host + "' is neither an IP address nor a host name");
    }
    return out;
}

Result<Endpoint> parse_bind_address(std::string_view s) {
    // ":1080" would mean "all interfaces" to Go's net.Listen; we deliberately bind loopback
    // unless an address is written out, so a proxy is never exposed by accident.
    if (!s.empty() && s.front() == ':') {
        auto port = parse_port(s.substr(1), true);
        if (!port) {
            return port.error();
        }
        return Endpoint::udp(IpAddress::v4(0x7f000001), *port);
    }
    auto hp = split_host_port(s);
    if (!hp) {
        return fail(Errc::kInvalidArgument,
                    "'" + std::string(s) + "' is not ip:port (IPv6 as [addr]:port)");
    }
    if (to_lower(hp->host) == "localhost") {
        return Endpoint::udp(IpAddress::v4(0x7f000001), hp->port);
    }
    auto ip = IpAddress::parse(hp->host);
    if (!ip) {
        return fail(Errc::kInvalidArgument,
                    "bind address '" + hp->host + "' must be an IP address or localhost");
    }
    return Endpoint::udp(*ip, hp->port);
}

Result<ControlUrl> parse_control_url(std::string_view s) {
    ControlUrl url;
    const std::string lc = to_lower(s.substr(0, 8));
    if (lc.rfind("https://", 0) == 0) {
        s.remove_prefix(8);
    } else if (lc.rfind("http://", 0) == 0) {
        url.https = false;
        s.remove_prefix(7);
    } else {
        return fail(Errc::kInvalidArgument,
                    "must start with http:// or https:// (e.g. https://headscale.example.com)");
    }
    const auto end = s.find_first_of("/?");
    std::string_view authority = s.substr(0, end);
    const std::string_view rest = end == std::string_view::npos ? "" : s.substr(end);
    if (!rest.empty() && rest != "/") {
        // tailscale control/controlhttp dials "/ts2021" and "/key" at the server root.
        return fail(Errc::kInvalidArgument,
                    "a path or query is not supported (the control protocol lives at the "
                    "server root)");
    }
    if (authority.find('@') != std::string_view::npos) {
        return fail(Errc::kInvalidArgument, "user information (user@host) is not supported");
    }
    std::optional<std::string_view> port_text;  // after ':', when there is one
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return fail(Errc::kInvalidArgument, "unterminated IPv6 address '['");
        }
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            return fail(Errc::kInvalidArgument, "expected ':port' after the IPv6 address");
        }
        if (!after.empty()) {
            port_text = after.substr(1);
        }
        url.host = std::string(authority.substr(1, close - 1));
        url.ip = IpAddress::parse(url.host);
        if (!url.ip || !url.ip->is_v6()) {
            return fail(Errc::kInvalidArgument, "'[" + url.host + "]' is not an IPv6 address");
        }
    } else {
        const auto colon = authority.find(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
        url.ip = IpAddress::parse(url.host);
        if (url.host.empty()) {
            return fail(Errc::kInvalidArgument, "no host name");
        }
        if (!url.ip && !is_hostname(url.host)) {
            return fail(Errc::kInvalidArgument,
                        "'" + url.host + "' is neither an IP address nor a host name");
        }
    }
    if (port_text) {
        auto port = parse_port(*port_text, false);
        if (!port) {
            return port.error();
        }
        url.port = *port;
    }
    return url;
}

Status check_credential(std::string_view s, bool is_username) {
    const char* what = is_username ? "Username" : "Password";
    if (s.empty() || s.size() > 255) {
        return fail(Errc::kInvalidArgument, std::string(what) + " must be 1-255 bytes (RFC 1929)");
    }
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return fail(Errc::kInvalidArgument,
                        std::string(what) + " must not contain spaces or control characters");
        }
    }
    if (is_username && s.find(':') != std::string_view::npos) {
        // RFC 7617 §2: a Basic user-id cannot contain ':'.
        return fail(Errc::kInvalidArgument, "Username must not contain ':' (RFC 7617)");
    }
    return {};
}

}  // namespace tunless::cfg::detail
