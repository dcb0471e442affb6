#include "netstack/ip_convert.hpp"

#include <cstring>

namespace tunless::net {

ip_addr_t to_lwip(const IpAddress& ip) {
    const IpAddress a = ip.unmap_v4();
    ip_addr_t out;
    std::memset(&out, 0, sizeof(out));
    if (a.is_v4()) {
        IP_SET_TYPE_VAL(out, IPADDR_TYPE_V4);
        std::memcpy(&ip_2_ip4(&out)->addr, a.data(), 4);  // both in network byte order
    } else {
        IP_SET_TYPE_VAL(out, IPADDR_TYPE_V6);
        std::memcpy(ip_2_ip6(&out)->addr, a.data(), 16);
    }
    return out;
}

IpAddress from_lwip(const ip_addr_t& ip) {
    std::uint8_t bytes[16];
    if (IP_IS_V6_VAL(ip)) {
        std::memcpy(bytes, ip_2_ip6(&ip)->addr, 16);
        return IpAddress::v6_bytes(bytes);
    }
    std::memcpy(bytes, &ip_2_ip4(&ip)->addr, 4);
    return IpAddress::v4_bytes(bytes);
}

}  // namespace tunless::net
