// DerpRelay: the region table (which connections exist, which is home), the DERP map and node
// key fan-out, and the shared deadline (tailscale wgengine/magicsock/derp.go: activeDerp,
// setNearestDERP, cleanStaleDerp). The per-region work is DerpRegionConn.
#include "tools/tunless/app/tailnet_derp.hpp"

#include <algorithm>
#include <utility>

#include "core/crypto/secret.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/tailnet_derp_conn.hpp"

namespace tunless::app {

DerpRelay::DerpRelay(io::EventLoop& loop, io::HostResolver& resolver, Rng& rng, std::string ca_file,
                     DerpRelayHandler& handler, DerpRelayOptions options)
    : loop_(loop),
      resolver_(resolver),
      rng_(rng),
      ca_file_(std::move(ca_file)),
      handler_(handler),
      options_(options),
      alive_(std::make_shared<bool>(true)) {
    loop_.add_deadline_provider(*this);
}

DerpRelay::~DerpRelay() {
    loop_.remove_deadline_provider(*this);
    for (auto& [region, conn] : conns_) {
        conn->shut();
    }
}

void DerpRelay::set_node_key(const crypto::PrivateKey& key) {
    if (node_key_ && crypto::constant_time_equal(node_key_->view(), key.view())) {
        return;
    }
    node_key_ = key;
    const Instant now = loop_.now();
    for (auto& [region, conn] : conns_) {
        conn->restart(now, "node key changed");
    }
}

void DerpRelay::set_derp_map(const tailnet::DERPMap& map) {
    map_ = map;
    const Instant now = loop_.now();
    std::vector<std::uint16_t> removed;
    for (auto& [region, conn] : conns_) {
        auto it = map_.regions.find(region);
        if (it == map_.regions.end()) {
            removed.push_back(region);
        } else if (!(it->second == conn->info())) {
            conn->set_info(it->second, now);
        }
    }
    for (std::uint16_t region : removed) {
        remove_conn(region, "region removed from the DERP map");
    }
    if (home_ != 0) {
        if (DerpRegionConn* c = ensure_conn(home_)) {
            c->set_home(true, now);
        }
    }
}

void DerpRelay::set_home_region(std::uint16_t region) {
    if (region == home_) {
        return;
    }
    const Instant now = loop_.now();
    if (auto it = conns_.find(home_); it != conns_.end()) {
        it->second->set_home(false, now);
    }
    home_ = region;
    if (region == 0) {
        return;
    }
    log::info("derp: home region is now {}", region);
    if (DerpRegionConn* c = ensure_conn(region)) {
        c->set_home(true, now);
    } else {
        log::warn("derp: home region {} is not in the DERP map (yet)", region);
    }
}

void DerpRelay::send(std::uint16_t region, const crypto::PublicKey& dst, ByteView packet) {
    DerpRegionConn* c = ensure_conn(region);
    if (c == nullptr) {
        ++unroutable_drops_;
        return;
    }
    c->send(dst, packet, loop_.now());
}

std::vector<DerpRelay::RegionStatus> DerpRelay::status() const {
    std::vector<RegionStatus> out;
    out.reserve(conns_.size());
    for (const auto& [region, conn] : conns_) {
        out.push_back(conn->status());
    }
    return out;
}

DerpRegionConn* DerpRelay::ensure_conn(std::uint16_t region) {
    if (auto it = conns_.find(region); it != conns_.end()) {
        return it->second.get();
    }
    auto info = map_.regions.find(region);
    if (region == 0 || info == map_.regions.end()) {
        return nullptr;
    }
    auto conn = std::make_unique<DerpRegionConn>(*this, region, info->second, loop_.now());
    return conns_.emplace(region, std::move(conn)).first->second.get();
}

void DerpRelay::remove_conn(std::uint16_t region, const std::string& why) {
    auto node = conns_.extract(region);
    if (node.empty()) {
        return;
    }
    const bool was_up = node.mapped()->logged_in();
    node.mapped()->shut();
    log::info("derp region {}: closed ({})", region, why);
    // We may be inside one of this connection's callbacks: destroy it after the round.
    auto holder = std::make_shared<std::unique_ptr<DerpRegionConn>>(std::move(node.mapped()));
    loop_.post([holder] { holder->reset(); });
    if (was_up) {
        notify_later(region, false, why);
    }
}

// State changes caused by our caller's own calls are reported after the round, never from
// inside set_derp_map/set_node_key (the handler may call those from its callbacks).
void DerpRelay::notify_later(std::uint16_t region, bool connected, std::string detail) {
    std::weak_ptr<bool> alive = alive_;
    loop_.post([this, alive, region, connected, detail = std::move(detail)] {
        if (!alive.expired()) {
            handler_.on_relay_state(region, connected, detail);
        }
    });
}

Instant DerpRelay::next_deadline() const {
    Instant t = kNever;
    for (const auto& [region, conn] : conns_) {
        t = std::min(t, conn->next_deadline());
    }
    return t;
}

void DerpRelay::on_timer(Instant now) {
    std::vector<std::uint16_t> regions;
    for (const auto& [region, conn] : conns_) {
        regions.push_back(region);
    }
    for (std::uint16_t region : regions) {
        auto it = conns_.find(region);
        if (it == conns_.end()) {
            continue;
        }
        if (it->second->idle_expired(now)) {
            remove_conn(region, "idle");
        } else {
            it->second->on_timer(now);
        }
    }
}

}  // namespace tunless::app
