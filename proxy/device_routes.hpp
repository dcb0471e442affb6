// MeshRoutes over the WireGuard device: longest-prefix match over the peers' AllowedIPs (the
// same answer cryptokey routing gives, wg paper §2) and the owning peer's session state.
// Costs O(peers x prefixes) per call; called once per proxied connection, not per packet.
#pragma once

#include "core/wg/device.hpp"
#include "proxy/mesh_routes.hpp"

namespace tunless::proxy {

class DeviceRoutes final : public MeshRoutes {
public:
    // `device` must outlive this object.
    explicit DeviceRoutes(const wg::Device& device) : device_(device) {}
    Route route(const IpAddress& dst) const override;

private:
    const wg::Device& device_;
};

}  // namespace tunless::proxy
