// IpAddress <-> lwIP ip_addr_t. Internal to netstack/ (includes lwIP headers); public headers
// speak IpAddress only.
#pragma once

#include "core/base/ip_address.hpp"
#include "lwip/ip_addr.h"

namespace tunless::net {

// IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes plain IPv4, the form lwIP routes.
ip_addr_t to_lwip(const IpAddress& ip);
IpAddress from_lwip(const ip_addr_t& ip);

}  // namespace tunless::net
