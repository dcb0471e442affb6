#include "tools/tunless/app/endpoint_refresh.hpp"

#include <algorithm>

#include "tools/log/log.hpp"

namespace tunless::app {

bool peer_is_failing(const wg::PeerStatus& status) {
    return status.handshake_retries >= kRefreshAfterRetries || !status.has_session;
}

EndpointRefresher::EndpointRefresher(wg::Device& device, std::unique_ptr<HostLookup> lookup)
    : device_(device), lookup_(std::move(lookup)) {}

void EndpointRefresher::set_peers(const cfg::Config& config) {
    std::vector<Watched> next;
    for (const auto& entry : config.peers) {
        if (!entry.endpoint || entry.endpoint->ip) continue;
        Watched w;
        w.key = entry.public_key;
        w.host = entry.endpoint->host;
        w.port = entry.endpoint->port;
        if (const Watched* old = find(w.key); old && old->host == w.host) w = *old;
        w.port = entry.endpoint->port;
        next.push_back(std::move(w));
    }
    peers_ = std::move(next);
}

EndpointRefresher::Watched* EndpointRefresher::find(const crypto::PublicKey& key) {
    for (auto& w : peers_) {
        if (w.key == key) return &w;
    }
    return nullptr;
}

void EndpointRefresher::tick(Instant now) {
    for (auto& w : peers_) {
        auto id = device_.find_peer(w.key);
        auto st = id ? device_.peer_status(*id) : std::nullopt;
        if (!st) continue;
        if (!peer_is_failing(*st)) {
            w.backoff = kRefreshMinInterval;
            continue;
        }
        if (!w.in_flight && now >= w.next_allowed) refresh(w, now, "handshakes unanswered");
    }
}

void EndpointRefresher::on_event(Instant now, const wg::Event& e) {
    if (e.kind != wg::EventKind::kHandshakeGaveUp) return;
    auto st = device_.peer_status(e.peer);
    if (!st) return;
    Watched* w = find(st->public_key);
    if (w != nullptr && !w->in_flight) refresh(*w, now, "handshake gave up");
}

void EndpointRefresher::refresh_all(Instant now, const char* why) {
    for (auto& w : peers_) {
        if (!w.in_flight) refresh(w, now, why);
    }
}

void EndpointRefresher::refresh(Watched& w, Instant now, const char* why) {
    w.in_flight = true;
    w.next_allowed = now + w.backoff;
    w.backoff = std::min<Duration>(w.backoff * 2, kRefreshMaxInterval);
    ++lookups_;
    log::debug("peer {}: re-resolving {} ({})", crypto::public_key_short(w.key), w.host, why);
    const crypto::PublicKey key = w.key;
    lookup_->start(w.host, [this, key](Result<std::vector<IpAddress>> addrs) {
        apply(key, std::move(addrs));
    });
}

void EndpointRefresher::apply(const crypto::PublicKey& key, Result<std::vector<IpAddress>> addrs) {
    Watched* w = find(key);
    if (w == nullptr) return;  // no longer configured with a name (reload)
    w->in_flight = false;
    if (!addrs) {
        log::warn("peer {}: re-resolving {}: {}", crypto::public_key_short(key), w->host,
                  addrs.error().message);
        return;
    }
    auto id = device_.find_peer(key);
    auto st = id ? device_.peer_status(*id) : std::nullopt;
    if (!st) return;
    const Endpoint& cur = st->endpoint;
    const bool still_valid = cur.kind == Endpoint::Kind::kUdp && cur.port == w->port &&
                             std::find(addrs->begin(), addrs->end(), cur.ip) != addrs->end();
    // A healthy peer may have roamed to an address the name does not list: keep it.
    if (still_valid || (cur.is_set() && !peer_is_failing(*st))) return;
    wg::PeerConfig pc;
    pc.public_key = key;
    pc.preshared_key = device_.preshared_key(*id);
    pc.allowed_ips = st->allowed_ips;
    pc.persistent_keepalive_s = st->persistent_keepalive_s;
    pc.endpoint = Endpoint::udp(addrs->front(), w->port);
    if (auto s = device_.update_peer(*id, pc); !s) {
        log::warn("peer {}: endpoint update failed: {}", crypto::public_key_short(key),
                  s.error().message);
        return;
    }
    ++updates_;
    log::info("peer {}: {} now resolves to {} (was {})", crypto::public_key_short(key), w->host,
              pc.endpoint.to_string(), cur.to_string());
    if (on_update_) on_update_(*id);
}

}  // namespace tunless::app
