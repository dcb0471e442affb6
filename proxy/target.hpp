// Where a proxy client wants to go: an IP literal or a domain name (unresolved) plus a port.
// Produced by the SOCKS5 and HTTP proxy codecs, consumed by the servers' connect/resolve step.
// Fixed-size value type: holding one never allocates, whatever the client sent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/ip_address.hpp"

namespace tunless::proxy {

// A host name as sent by a client, 1..255 bytes (RFC 1928 §5 length octet). Only printable
// ASCII 0x21..0x7E is accepted: no NUL, no controls, no space, no bytes >= 0x80 (IDNs arrive
// as A-labels). Stricter syntax (labels, LDH) is the resolver's business; the HTTP codec
// applies its own stricter check before constructing one.
class DomainName {
public:
    static constexpr std::size_t kMaxLength = 255;

    DomainName() = default;  // empty: only valid as the unused member of an IP Target
    static std::optional<DomainName> parse(std::string_view text);

    std::string_view view() const { return {chars_.data(), size_}; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    bool operator==(const DomainName& o) const { return view() == o.view(); }

private:
    std::array<char, kMaxLength> chars_{};
    std::size_t size_ = 0;
};

struct Target {
    enum class Kind : std::uint8_t { kIp, kDomain };

    Kind kind = Kind::kIp;
    IpAddress ip;       // meaningful when kind == kIp
    DomainName domain;  // meaningful when kind == kDomain
    std::uint16_t port = 0;

    static Target from_ip(const IpAddress& ip, std::uint16_t port);
    static Target from_domain(const DomainName& name, std::uint16_t port);

    bool is_ip() const { return kind == Kind::kIp; }
    bool is_domain() const { return kind == Kind::kDomain; }
    // "10.0.0.1:80", "[fd00::1]:80", "example.com:443" (for logs; the name is printable ASCII).
    std::string to_string() const;

    bool operator==(const Target& o) const;
};

}  // namespace tunless::proxy
