// Where the proxy asks "would a packet to this address go into the mesh, and is that peer's
// session up?" before it connects. The proxy never sends anything to the host network: a
// destination outside every peer's AllowedIPs is refused (SOCKS 0x02, HTTP 403). Implemented
// over wg::Device by DeviceRoutes (device_routes.hpp); tests use a fake.
#pragma once

#include "core/base/ip_address.hpp"

namespace tunless::proxy {

class MeshRoutes {
public:
    struct Route {
        bool routed = false;   // some peer's AllowedIPs contain the address
        bool session = false;  // that peer has a current session (handshake done, not expired)
    };
    virtual ~MeshRoutes() = default;
    virtual Route route(const IpAddress& dst) const = 0;
};

}  // namespace tunless::proxy
