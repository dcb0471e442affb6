#include "proxy/device_routes.hpp"

namespace tunless::proxy {

MeshRoutes::Route DeviceRoutes::route(const IpAddress& dst) const {
    Route best;
    int best_len = -1;
    for (wg::PeerId id : device_.peer_ids()) {
        auto st = device_.peer_status(id);
        if (!st) {
            continue;
        }
        for (const IpPrefix& p : st->allowed_ips) {
            if (p.contains(dst) && static_cast<int>(p.bits()) > best_len) {
                best_len = static_cast<int>(p.bits());
                best = Route{true, st->has_session};
            }
        }
    }
    return best;
}

}  // namespace tunless::proxy
