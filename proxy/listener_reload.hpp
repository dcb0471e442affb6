// What proxy::Services (TCP) and proxy::UdpServices share when a config reload reaches them:
// the report of a listener that could not be put into effect, and the lookup of a running
// listener by (ListenerId, rank) from cfg::ListenerDelta. Not the diff itself (pure, in
// core/config/listener_diff.hpp) and not the logging (the daemon's SIGHUP path does that).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/base/result.hpp"
#include "core/config/listener_diff.hpp"

namespace tunless::proxy {

struct ListenerReloadFailure {
    cfg::ListenerDelta delta;
    Error error;
    // true: the listener runs on with its previous settings; false: nothing listens there.
    bool kept_previous = false;
};
using ListenerReloadFailures = std::vector<ListenerReloadFailure>;

inline constexpr std::size_t kNoPosition = static_cast<std::size_t>(-1);

// Position in `items` of the rank-th item whose id_of(item) equals `id` (null entries are
// skipped), or kNoPosition. Items of one id are kept in the order of their config sections, so
// rank r here is the r-th such section of the running config.
template <typename T, typename IdOf>
std::size_t position_of(const std::vector<std::unique_ptr<T>>& items, const cfg::ListenerId& id,
                        std::size_t rank, IdOf id_of) {
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i] && id_of(*items[i]) == id) {
            if (rank == 0) {
                return i;
            }
            --rank;
        }
    }
    return kNoPosition;
}

// For each delta of the UDP kinds (`udp`) or the TCP kinds (!udp) that is not an addition,
// where its running listener is: position(delta), or kNoPosition. Found for all deltas before
// anything is applied, so removing one listener does not change which one a later delta means.
template <typename PositionOf>
std::vector<std::size_t> locate_running(const cfg::ListenerDiff& diff, bool udp,
                                        PositionOf position) {
    std::vector<std::size_t> pos(diff.deltas.size(), kNoPosition);
    for (std::size_t k = 0; k < diff.deltas.size(); ++k) {
        const auto& d = diff.deltas[k];
        if (cfg::is_udp(d.id.kind) == udp && d.change != cfg::ListenerChange::kAdded) {
            pos[k] = position(d);
        }
    }
    return pos;
}

// Drops the null entries a reload left (removed listeners), keeping the order of the rest.
template <typename T>
void compact(std::vector<std::unique_ptr<T>>& items) {
    std::erase_if(items, [](const std::unique_ptr<T>& p) { return p == nullptr; });
}

}  // namespace tunless::proxy
