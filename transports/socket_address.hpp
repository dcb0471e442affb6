// Conversion between tunless::Endpoint (a plain value, core/base) and the kernel's sockaddr.
// The single place that knows sockaddr_in/sockaddr_in6 layouts. IPv4 endpoints sent through a
// dual-stack AF_INET6 socket become v4-mapped addresses (::ffff:a.b.c.d, RFC 4291 §2.5.5.2);
// received v4-mapped addresses come back as plain IPv4 endpoints.
#pragma once

#include <sys/socket.h>

#include <optional>

#include "core/base/ip_address.hpp"

namespace tunless::io {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
};

// `socket_family` is the family of the socket that will use the address (AF_INET or AF_INET6).
// nullopt when the endpoint is not a UDP endpoint or cannot be expressed in that family
// (an IPv6 endpoint on an AF_INET socket).
std::optional<SocketAddress> to_socket_address(const Endpoint& ep, int socket_family);

// nullopt for families other than AF_INET/AF_INET6 or a short length.
std::optional<Endpoint> from_socket_address(const sockaddr* sa, socklen_t length);

}  // namespace tunless::io
