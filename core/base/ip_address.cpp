#include "core/base/ip_address.hpp"

#include <charconv>
#include <cstdio>

namespace tunless {
namespace {

std::optional<std::array<std::uint8_t, 4>> parse_v4(std::string_view s) {
    std::array<std::uint8_t, 4> out{};
    for (int i = 0; i < 4; ++i) {
        if (s.empty()) return std::nullopt;
        unsigned v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        std::size_t used = static_cast<std::size_t>(p - s.data());
        // No leading zeros ("010" is octal to inet_aton; refuse the ambiguity).
        if (ec != std::errc{} || v > 255 || used == 0 || used > 3 || (used > 1 && s[0] == '0')) {
            return std::nullopt;
        }
        out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
        s.remove_prefix(used);
        if (i < 3) {
            if (s.empty() || s[0] != '.') return std::nullopt;
            s.remove_prefix(1);
        }
    }
    if (!s.empty()) return std::nullopt;
    return out;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 4291 §2.2 text forms, including "::" compression and a trailing dotted quad.
std::optional<std::array<std::uint8_t, 16>> parse_v6(std::string_view s) {
    std::array<std::uint16_t, 8> groups{};
    int n = 0;
    int gap = -1;  // index where "::" expands
    if (s.size() >= 2 && s.substr(0, 2) == "::") {
        gap = 0;
        s.remove_prefix(2);
        if (s.empty()) return std::array<std::uint8_t, 16>{};
    } else if (!s.empty() && s[0] == ':') {
        return std::nullopt;
    }
    while (!s.empty()) {
        if (n >= 8) return std::nullopt;
        // Embedded IPv4 in the last 32 bits.
        std::size_t next_colon = s.find(':');
        std::string_view token = s.substr(0, next_colon);
        if (token.find('.') != std::string_view::npos) {
            if (next_colon != std::string_view::npos || n > 6) return std::nullopt;
            auto v4 = parse_v4(token);
            if (!v4) return std::nullopt;
            groups[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(((*v4)[0] << 8) | (*v4)[1]);
            groups[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(((*v4)[2] << 8) | (*v4)[3]);
            s = {};
            break;
        }
        if (token.empty() || token.size() > 4) return std::nullopt;
        unsigned v = 0;
        for (char c : token) {
            int d = hex_digit(c);
            if (d < 0) return std::nullopt;
            v = (v << 4) | static_cast<unsigned>(d);
        }
        groups[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v);
        s.remove_prefix(token.size());
        if (s.empty()) break;
        s.remove_prefix(1);  // ':'
        if (!s.empty() && s[0] == ':') {
            if (gap >= 0) return std::nullopt;
            gap = n;
            s.remove_prefix(1);
        } else if (s.empty()) {
            return std::nullopt;  // trailing single ':'
        }
    }
    std::array<std::uint16_t, 8> full{};
    if (gap >= 0) {
        if (n >= 8) return std::nullopt;
        int tail = n - gap;
        for (int i = 0; i < gap; ++i) full[static_cast<std::size_t>(i)] = groups[static_cast<std::size_t>(i)];
        for (int i = 0; i < tail; ++i) {
            full[static_cast<std::size_t>(8 - tail + i)] = groups[static_cast<std::size_t>(gap + i)];
        }
    } else {
        if (n != 8) return std::nullopt;
        full = groups;
    }
    std::array<std::uint8_t, 16> out{};
    for (std::size_t i = 0; i < 8; ++i) store_be16(&out[2 * i], full[i]);
    return out;
}

}  // namespace

IpAddress IpAddress::v4(std::uint32_t host_order) {
    IpAddress a;
    store_be32(a.bytes_.data(), host_order);
    return a;
}

IpAddress IpAddress::v4_bytes(const std::uint8_t b[4]) {
    IpAddress a;
    std::memcpy(a.bytes_.data(), b, 4);
    return a;
}

IpAddress IpAddress::v6_bytes(const std::uint8_t b[16]) {
    IpAddress a;
    a.family_ = Family::kV6;
    std::memcpy(a.bytes_.data(), b, 16);
    return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
        // Zone ids ("fe80::1%eth0") are not meaningful inside the mesh.
        auto v6 = parse_v6(text);
        if (!v6) return std::nullopt;
        return v6_bytes(v6->data());
    }
    auto v4 = parse_v4(text);
    if (!v4) return std::nullopt;
    return v4_bytes(v4->data());
}

bool IpAddress::is_unspecified() const {
    for (std::size_t i = 0; i < size(); ++i) {
        if (bytes_[i] != 0) return false;
    }
    return true;
}

bool IpAddress::is_loopback() const {
    if (is_v4()) return bytes_[0] == 127;
    for (std::size_t i = 0; i < 15; ++i) {
        if (bytes_[i] != 0) return false;
    }
    return bytes_[15] == 1;
}

IpAddress IpAddress::unmap_v4() const {
    static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (is_v6() && std::memcmp(bytes_.data(), kPrefix, 12) == 0) return v4_bytes(&bytes_[12]);
    return *this;
}

std::string IpAddress::to_string() const {
    char buf[64];
    if (is_v4()) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
        return buf;
    }
    // RFC 5952: compress the longest run (>= 2) of zero groups, lowercase hex.
    std::uint16_t g[8];
    for (std::size_t i = 0; i < 8; ++i) g[i] = load_be16(&bytes_[2 * i]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) { ++i; continue; }
        int j = i;
        while (j < 8 && g[j] == 0) ++j;
        if (j - i > best_len && j - i >= 2) { best = i; best_len = j - i; }
        i = j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        out += buf;
    }
    return out;
}

IpPrefix::IpPrefix(const IpAddress& addr, std::uint8_t bits) : addr_(addr), bits_(bits) {
    const unsigned max_bits = addr.is_v4() ? 32U : 128U;
    if (bits_ > max_bits) bits_ = static_cast<std::uint8_t>(max_bits);
    std::uint8_t b[16] = {};
    std::memcpy(b, addr.data(), addr.size());
    for (unsigned i = 0; i < addr.size(); ++i) {
        unsigned bit_start = i * 8;
        if (bit_start >= bits_) {
            b[i] = 0;
        } else if (bit_start + 8 > bits_) {
            b[i] = static_cast<std::uint8_t>(b[i] & (0xFF << (8 - (bits_ - bit_start))));
        }
    }
    addr_ = addr.is_v4() ? IpAddress::v4_bytes(b) : IpAddress::v6_bytes(b);
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
    auto slash = text.find('/');
    auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    unsigned max_bits = addr->is_v4() ? 32 : 128;
    unsigned bits = max_bits;
    if (slash != std::string_view::npos) {
        std::string_view b = text.substr(slash + 1);
        auto [p, ec] = std::from_chars(b.data(), b.data() + b.size(), bits);
        if (b.empty() || ec != std::errc{} || p != b.data() + b.size() || bits > max_bits) {
            return std::nullopt;
        }
    }
    return IpPrefix(*addr, static_cast<std::uint8_t>(bits));
}

bool IpPrefix::contains(const IpAddress& ip) const {
    if (ip.family() != addr_.family()) return false;
    return IpPrefix(ip, bits_).address() == addr_;
}

std::string IpPrefix::to_string() const { return addr_.to_string() + "/" + std::to_string(bits_); }

std::string Endpoint::to_string() const {
    switch (kind) {
        case Kind::kNone: return "(none)";
        case Kind::kRelay: return "relay:" + std::to_string(relay_region);
        case Kind::kUdp:
            if (ip.is_v6()) return "[" + ip.to_string() + "]:" + std::to_string(port);
            return ip.to_string() + ":" + std::to_string(port);
    }
    return "?";
}

std::optional<HostPort> split_host_port(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare v6 needs []
    }
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() ||
        p > 65535) {
        return std::nullopt;
    }
    return HostPort{std::string(host), static_cast<std::uint16_t>(p)};
}

std::optional<Endpoint> Endpoint::parse_numeric(std::string_view text) {
    auto hp = split_host_port(text);
    if (!hp) return std::nullopt;
    auto ip = IpAddress::parse(hp->host);
    if (!ip) return std::nullopt;
    return Endpoint::udp(*ip, hp->port);
}

}  // namespace tunless
