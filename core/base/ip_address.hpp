// IPv4/IPv6 addresses, prefixes and socket-style endpoints as plain values (no sockaddr here:
// transports/ converts). Parsing accepts the textual forms used in wg-quick configs:
// "10.0.0.1", "fd00::1", "10.0.0.0/24", "[fd00::1]:51820", "1.2.3.4:51820".
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/bytes.hpp"

namespace tunless {

class IpAddress {
public:
    enum class Family : std::uint8_t { kV4 = 4, kV6 = 6 };

    IpAddress() = default;  // 0.0.0.0
    static IpAddress v4(std::uint32_t host_order);
    static IpAddress v4_bytes(const std::uint8_t b[4]);
    static IpAddress v6_bytes(const std::uint8_t b[16]);
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::kV4; }
    bool is_v6() const { return family_ == Family::kV6; }
    // 4 or 16 significant bytes in network order.
    const std::uint8_t* data() const { return bytes_.data(); }
    std::size_t size() const { return is_v4() ? 4 : 16; }
    ByteView bytes() const { return {bytes_.data(), size()}; }
    std::uint32_t v4_host_order() const { return load_be32(bytes_.data()); }
    bool is_unspecified() const;
    bool is_loopback() const;
    // ::ffff:a.b.c.d -> a.b.c.d; anything else unchanged.
    IpAddress unmap_v4() const;

    std::string to_string() const;

    auto operator<=>(const IpAddress&) const = default;

private:
    Family family_ = Family::kV4;
    std::array<std::uint8_t, 16> bytes_{};  // unused tail is zero so defaulted compare works
};

class IpPrefix {
public:
    IpPrefix() = default;
    // Masks host bits off: 10.1.2.3/8 becomes 10.0.0.0/8.
    IpPrefix(const IpAddress& addr, std::uint8_t bits);
    static std::optional<IpPrefix> parse(std::string_view text);  // "a/b"; bare address = host

    const IpAddress& address() const { return addr_; }
    std::uint8_t bits() const { return bits_; }
    bool contains(const IpAddress& ip) const;
    std::string to_string() const;

    auto operator<=>(const IpPrefix&) const = default;

private:
    IpAddress addr_;
    std::uint8_t bits_ = 0;
};

// Where a datagram goes or came from. Today an UDP socket address; the relay kind is reserved
// for DERP-style relays (addressed by region, the wiring knows the peer's relay key), so the
// core can carry "the path to a peer" without knowing how it is implemented.
struct Endpoint {
    enum class Kind : std::uint8_t { kNone, kUdp, kRelay };
    Kind kind = Kind::kNone;
    IpAddress ip;
    std::uint16_t port = 0;
    std::uint16_t relay_region = 0;

    static Endpoint udp(const IpAddress& ip, std::uint16_t port) {
        return Endpoint{Kind::kUdp, ip, port, 0};
    }
    static Endpoint relay(std::uint16_t region) { return Endpoint{Kind::kRelay, {}, 0, region}; }
    bool is_set() const { return kind != Kind::kNone; }
    // "1.2.3.4:51820", "[fd00::1]:51820", "relay:7", "(none)".
    std::string to_string() const;
    // Accepts the numeric "host:port" / "[v6]:port" forms only (hostnames are resolved by the
    // caller, which may do I/O).
    static std::optional<Endpoint> parse_numeric(std::string_view text);

    auto operator<=>(const Endpoint&) const = default;
};

// Splits "host:port" / "[v6]:port" without resolving. Returns nullopt on a malformed form.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<HostPort> split_host_port(std::string_view text);

}  // namespace tunless
