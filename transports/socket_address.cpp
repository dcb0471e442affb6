#include "transports/socket_address.hpp"

#include <netinet/in.h>

#include <cstring>

namespace tunless::io {

std::optional<SocketAddress> to_socket_address(const Endpoint& ep, int socket_family) {
    if (ep.kind != Endpoint::Kind::kUdp) {
        return std::nullopt;
    }
    SocketAddress out;
    const IpAddress ip = ep.ip.unmap_v4();
    if (socket_family == AF_INET) {
        if (!ip.is_v4()) {
            return std::nullopt;
        }
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(ep.port);
        std::memcpy(&sin.sin_addr, ip.data(), 4);
        std::memcpy(&out.storage, &sin, sizeof sin);
        out.length = sizeof sin;
        return out;
    }
    if (socket_family != AF_INET6) {
        return std::nullopt;
    }
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ep.port);
    if (ip.is_v4()) {
        sin6.sin6_addr.s6_addr[10] = 0xff;
        sin6.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&sin6.sin6_addr.s6_addr[12], ip.data(), 4);
    } else {
        std::memcpy(&sin6.sin6_addr, ip.data(), 16);
    }
    std::memcpy(&out.storage, &sin6, sizeof sin6);
    out.length = sizeof sin6;
    return out;
}

std::optional<Endpoint> from_socket_address(const sockaddr* sa, socklen_t length) {
    if (sa == nullptr) {
        return std::nullopt;
    }
    if (sa->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in sin;
        std::memcpy(&sin, sa, sizeof sin);
        std::uint8_t b[4];
        std::memcpy(b, &sin.sin_addr, 4);
        return Endpoint::udp(IpAddress::v4_bytes(b), ntohs(sin.sin_port));
    }
    if (sa->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, sa, sizeof sin6);
        return Endpoint::udp(IpAddress::v6_bytes(sin6.sin6_addr.s6_addr).unmap_v4(),
                             ntohs(sin6.sin6_port));
    }
    return std::nullopt;
}

}  // namespace tunless::io
