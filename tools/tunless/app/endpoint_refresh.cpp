#include "tools/tunless/app/endpoint_refresh.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "tools/log/log.hpp"
#include "transports/socket_address.hpp"

namespace tunless::app {

// One getaddrinfo_a request. glibc's helper thread writes into it until gai_error() stops
// saying EAI_INPROGRESS, so a request that cannot be cancelled is leaked, not freed.
struct GaiHostLookup::Pending {
    std::string host;
    addrinfo hints{};
    gaicb cb{};
    Callback done;
    Instant deadline{};
};

namespace {

Result<std::vector<IpAddress>> collect(const std::string& host, const addrinfo* list) {
    std::vector<IpAddress> out;
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        auto ep = io::from_socket_address(ai->ai_addr, ai->ai_addrlen);
        if (ep && std::find(out.begin(), out.end(), ep->ip) == out.end()) out.push_back(ep->ip);
    }
    if (out.empty()) return fail(Errc::kNotFound, host + ": no address");
    return out;
}

}  // namespace

GaiHostLookup::GaiHostLookup(io::EventLoop& loop) : loop_(loop) {}

GaiHostLookup::~GaiHostLookup() {
    if (timer_ != io::kNoTimer) loop_.cancel_timer(timer_);
    for (auto& p : pending_) {
        if (::gai_error(&p->cb) == EAI_INPROGRESS && ::gai_cancel(&p->cb) == EAI_NOTCANCELED) {
            (void)p.release();  // still glibc's; see Pending
        } else if (::gai_error(&p->cb) == 0) {
            ::freeaddrinfo(p->cb.ar_result);
        }
    }
}

void GaiHostLookup::start(const std::string& host, Callback cb) {
    auto fail_later = [this, &cb](Errc code, std::string msg) {
        loop_.post([cb = std::move(cb), code, msg = std::move(msg)] { cb(fail(code, msg)); });
    };
    if (pending_.size() >= kMaxPending) {
        return fail_later(Errc::kLimitReached, host + ": too many lookups");
    }
    auto p = std::make_unique<Pending>();
    p->host = host;
    p->hints.ai_family = AF_UNSPEC;
    p->hints.ai_socktype = SOCK_DGRAM;
    p->cb.ar_name = p->host.c_str();
    p->cb.ar_request = &p->hints;
    p->done = std::move(cb);
    p->deadline = loop_.now() + kTimeout;
    gaicb* list[1] = {&p->cb};
    if (const int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
        cb = std::move(p->done);
        return fail_later(Errc::kIo, host + ": " + ::gai_strerror(rc));
    }
    pending_.push_back(std::move(p));
    if (timer_ == io::kNoTimer) timer_ = loop_.add_periodic(kPollInterval, [this] { poll(); });
}

void GaiHostLookup::poll() {
    const Instant now = loop_.now();
    std::vector<std::pair<Callback, Result<std::vector<IpAddress>>>> finished;
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& p = **it;
        const int rc = ::gai_error(&p.cb);
        if (rc == EAI_INPROGRESS && now < p.deadline) {
            ++it;
            continue;
        }
        if (rc == 0) {
            finished.emplace_back(std::move(p.done), collect(p.host, p.cb.ar_result));
            ::freeaddrinfo(p.cb.ar_result);
        } else if (rc == EAI_INPROGRESS) {
            finished.emplace_back(std::move(p.done), fail(Errc::kTimedOut, p.host + ": timed out"));
            if (::gai_cancel(&p.cb) == EAI_NOTCANCELED) (void)it->release();
        } else {
            const Errc code = (rc == EAI_NONAME || rc == EAI_NODATA) ? Errc::kNotFound : Errc::kIo;
            finished.emplace_back(std::move(p.done),
                                  fail(code, p.host + ": " + ::gai_strerror(rc)));
        }
        it = pending_.erase(it);
    }
    if (pending_.empty() && timer_ != io::kNoTimer) {
        loop_.cancel_timer(timer_);
        timer_ = io::kNoTimer;
    }
    for (auto& [cb, result] : finished) cb(std::move(result));
}

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
