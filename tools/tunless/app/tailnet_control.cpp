// ControlClient: attempts, backoff, events -> NetMap -> handler. The stream handlers are in
// tailnet_control_conn.cpp.
#include "tools/tunless/app/tailnet_control.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/crypto/keys.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/tailnet_control_conn.hpp"

namespace tunless::app {

namespace {

tailnet::Timestamp wall_now() {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
    return {secs.count(),
            static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count())};
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// What a reconnect's fresh first map changed relative to the map the node has: the delta
// NetMap::apply would have reported had the old stream continued.
tailnet::NetMapDelta diff(const tailnet::NetMap& old_map, const tailnet::NetMap& new_map) {
    tailnet::NetMapDelta d;
    d.full_peers = true;
    for (const auto& [id, node] : new_map.peers()) {
        const tailnet::Node* before = old_map.peer(id);
        if (before == nullptr) {
            d.added.push_back(id);
        } else if (!(*before == node)) {
            d.changed.push_back(id);
        }
    }
    for (const auto& [id, node] : old_map.peers()) {
        if (new_map.peer(id) == nullptr) d.removed.push_back(id);
    }
    d.self_changed = old_map.self() != new_map.self();
    d.derp_changed = old_map.derp_map() != new_map.derp_map();
    d.filter_changed = old_map.filter() != new_map.filter() ||
                       old_map.filter_rejected() != new_map.filter_rejected();
    d.dns_changed = old_map.dns() != new_map.dns();
    d.domain_changed = old_map.domain() != new_map.domain();
    return d;
}

}  // namespace

const char* control_state_name(ControlState state) {
    switch (state) {
        case ControlState::kConnecting:
            return "connecting";
        case ControlState::kNeedsLogin:
            return "needs-login";
        case ControlState::kRunning:
            return "running";
        case ControlState::kBackoff:
            return "backoff";
    }
    return "?";
}

ControlClient::ControlClient(io::EventLoop& loop, io::HostResolver& resolver, Rng& rng,
                             TailnetKeys& keys, ControlClientOptions options,
                             ControlClientHandler& handler)
    : loop_(loop),
      resolver_(resolver),
      rng_(rng),
      keys_(keys),
      options_(std::move(options)),
      handler_(handler) {
    // Host header: the URL's authority ("host", "host:port", "[v6]:port").
    const std::string url = options_.config.control_url.to_string();
    host_header_ = url.substr(url.find("://") + 3);
    if (options_.config.control_key) control_key_ = options_.config.control_key;
}

ControlClient::~ControlClient() {
    if (started_) loop_.remove_deadline_provider(*this);
    crypto::secure_wipe(options_.auth_key.data(), options_.auth_key.size());
}

void ControlClient::start() {
    if (started_) return;
    started_ = true;
    attempt_at_ = loop_.now();
    loop_.add_deadline_provider(*this);
    log::info("tailnet: control {}: connecting", options_.config.control_url.to_string());
}

Instant ControlClient::next_deadline() const {
    if (!dead_conns_.empty() || !dead_fetches_.empty()) return Instant{};  // reap next round
    Instant d = attempt_at_;
    if (key_fetch_) d = std::min(d, key_deadline_);
    if (conn_) d = std::min(d, conn_->deadline());
    return d;
}

void ControlClient::on_timer(Instant now) {
    dead_fetches_.clear();
    dead_conns_.clear();
    if (key_fetch_ && now >= key_deadline_) {
        fail_attempt(make_error(Errc::kTimedOut, "control: GET /key timed out"));
    }
    if (conn_ && now >= conn_->deadline()) conn_->on_timer(now);
    if (now >= attempt_at_) {
        attempt_at_ = kNever;
        begin_attempt(now);
    }
}

io::ClientStreamOptions ControlClient::stream_options(Duration timeout) const {
    io::ClientStreamOptions o;
    o.host = options_.config.control_url.host;
    o.port = options_.config.control_url.effective_port();
    o.tls.enabled = options_.config.control_url.https;
    o.tls.ca_file = options_.config.ca_file;  // empty: the system bundle
    o.connect_timeout = timeout;
    o.max_send_buffer = 1024 * 1024;
    return o;
}

tailnet::Hostinfo ControlClient::hostinfo() const {
    tailnet::Hostinfo h;
    h.hostname = options_.config.hostname.empty() ? options_.hostname : options_.config.hostname;
    h.ipn_version = options_.ipn_version;
    h.userspace = true;
    h.net_info = tailnet::NetInfo{.preferred_derp = preferred_derp_, .derp_latency = {}};
    return h;
}

void ControlClient::begin_attempt(Instant now) {
    log::debug("tailnet: control {}: connecting{}", options_.config.control_url.to_string(),
               control_key_ ? "" : " (fetching the server key first)");
    set_state(ControlState::kConnecting, "");
    if (control_key_) {
        connect_control(now);
        return;
    }
    key_fetch_ = std::make_unique<KeyFetch>(*this);
    key_deadline_ = now + options_.key_fetch_timeout;
    if (auto st = key_fetch_->start(); !st) {
        fail_attempt(make_error(st.error().code, "control: GET /key: " + st.error().message));
    }
}

void ControlClient::on_key_fetched(Result<crypto::PublicKey> key) {
    if (key_fetch_) dead_fetches_.push_back(std::move(key_fetch_));
    key_deadline_ = kNever;
    if (!key) {
        fail_attempt(make_error(key.error().code, "control: GET /key: " + key.error().message));
        return;
    }
    control_key_ = key.value();
    connect_control(loop_.now());
}

void ControlClient::connect_control(Instant now) {
    tailnet::ControlSessionConfig c;
    c.host = host_header_;
    c.machine_key = keys_.machine_private();
    c.control_key = *control_key_;
    c.node_key = keys_.node_public();
    c.old_node_key = keys_.old_node_public();
    c.disco_key = keys_.disco_public();
    if (!options_.auth_key.empty()) c.auth_key = options_.auth_key;
    c.ephemeral = options_.config.ephemeral;
    c.hostinfo = hostinfo();
    c.endpoints = endpoints_;
    lite_pending_ = false;  // this connection's map request carries the current values
    auto session = tailnet::ControlSession::create(std::move(c), rng_);
    if (!session) {
        fail_attempt(session.error());
        return;
    }
    conn_ = std::make_unique<Connection>(*this, std::move(session.value()));
    if (auto st = conn_->start(now); !st) fail_attempt(st.error());
}

void ControlClient::on_session_events(std::vector<tailnet::ControlEvent>& events) {
    Connection* const current = conn_.get();
    ++dispatch_depth_;
    for (tailnet::ControlEvent& e : events) {
        if (conn_.get() != current || current == nullptr) break;
        switch (e.kind) {
            case tailnet::ControlEventKind::kNeedsLogin:
                // The URL is no secret: the operator has to open it (Go prints it too).
                log::warn("tailnet: control {}: login required, visit {}",
                          options_.config.control_url.to_string(), e.detail);
                set_state(ControlState::kNeedsLogin, e.detail);
                break;
            case tailnet::ControlEventKind::kRegistered:
                login_name_ = e.registration.login_name;
                rotated_this_attempt_ = false;
                log::info(
                    "tailnet: control {}: registered as node {} of {}{}",
                    options_.config.control_url.to_string(),
                    crypto::public_key_short(keys_.node_public()),
                    login_name_.empty() ? "(unknown user)" : login_name_,
                    e.registration.machine_authorized ? "" : " (machine awaits authorization)");
                if (keys_.old_node_public()) {
                    if (auto st = keys_.forget_old_node_key(); !st) {
                        log::warn("tailnet: {}", st.error().message);
                    }
                }
                break;
            case tailnet::ControlEventKind::kNodeKeyExpired:
                rotate_node_key();
                break;
            case tailnet::ControlEventKind::kMapResponse:
                on_map(e.map, e.first_in_stream);
                break;
        }
    }
    --dispatch_depth_;
}

void ControlClient::on_map(tailnet::MapResponse& map, bool first_in_stream) {
    const Instant now = loop_.now();
    last_map_ = now;
    ++map_messages_;
    tailnet::NetMapDelta delta;
    if (first_in_stream) {
        // A new stream starts from a full map (Go starts a fresh mapSession per poll): build
        // it apart and diff, so peers that vanished while we were away are reported removed.
        tailnet::NetMap fresh;
        if (auto st = fresh.apply(map, delta, wall_now()); !st) {
            fail_attempt(make_error(st.error().code, "control: netmap: " + st.error().message));
            return;
        }
        delta = diff(netmap_, fresh);
        netmap_ = std::move(fresh);
        running_since_ = now;
        log::info("tailnet: control {}: map poll running, {} peers",
                  options_.config.control_url.to_string(), netmap_.peers().size());
        set_state(ControlState::kRunning, "");
    } else if (auto st = netmap_.apply(map, delta, wall_now()); !st) {
        fail_attempt(make_error(st.error().code, "control: netmap: " + st.error().message));
        return;
    }
    if (!delta.empty()) handler_.on_netmap(netmap_, delta);
}

void ControlClient::rotate_node_key() {
    if (rotated_this_attempt_) {
        // direct.go: "weird: regen=true but server says NodeKeyExpired".
        fail_attempt(make_error(Errc::kRefused, "control: the new node key was refused too"));
        return;
    }
    if (auto st = keys_.rotate_node_key(rng_); !st) {
        fail_attempt(
            make_error(st.error().code, "control: node key rotation: " + st.error().message));
        return;
    }
    rotated_this_attempt_ = true;
    log::info("tailnet: control {}: node key expired, rotated to {}",
              options_.config.control_url.to_string(),
              crypto::public_key_short(keys_.node_public()));
    handler_.on_node_key_changed();
    retry_now();
}

void ControlClient::retire_connections() {
    if (key_fetch_) {
        key_fetch_->close();
        dead_fetches_.push_back(std::move(key_fetch_));
    }
    if (conn_) {
        conn_->close();
        dead_conns_.push_back(std::move(conn_));
    }
    key_deadline_ = kNever;
}

void ControlClient::node_key_expired() {
    log::warn("tailnet: control {}: our node key expired; registering again",
              options_.config.control_url.to_string());
    retry_now();
}

void ControlClient::retry_now() {
    retire_connections();
    running_since_.reset();
    attempt_at_ = loop_.now();
}

void ControlClient::fail_attempt(const Error& why) {
    const Instant now = loop_.now();
    // A connection that never verified the Noise response may have used a stale server key:
    // fetch it again next time (unless pinned).
    const bool verified = conn_ && conn_->session().channel_established();
    retire_connections();
    if (!verified && !options_.config.control_key) control_key_.reset();
    if (running_since_ && now - *running_since_ >= options_.backoff_reset_after) failures_ = 0;
    running_since_.reset();
    ++reconnects_;

    Duration delay = options_.backoff_initial;
    for (std::uint32_t i = 0; i < failures_ && delay < options_.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, options_.backoff_max);
    // +-25 % jitter so a fleet does not reconnect in lockstep after a server restart.
    const auto permille = 750 + static_cast<std::int64_t>(rng_.uniform(501));
    delay = delay * permille / 1000;
    failures_ = std::min<std::uint32_t>(failures_ + 1, 31);
    attempt_at_ = now + delay;

    log::warn("tailnet: control {}: {}; retrying in {:.1f} s",
              options_.config.control_url.to_string(), why.message, seconds(delay));
    set_state(ControlState::kBackoff, why.message);
}

void ControlClient::set_state(ControlState state, const std::string& detail) {
    if (state == state_ && detail == detail_) return;
    state_ = state;
    detail_ = detail;
    ++dispatch_depth_;
    handler_.on_control_state(state, detail);
    --dispatch_depth_;
}

void ControlClient::set_preferred_derp(int region) {
    if (region == preferred_derp_) return;
    preferred_derp_ = region;
    lite_pending_ = true;
    send_pending_lite_update();
}

void ControlClient::set_endpoints(std::vector<std::string> endpoints) {
    std::vector<Endpoint> parsed;
    for (const std::string& text : endpoints) {
        if (auto ep = Endpoint::parse_numeric(text)) parsed.push_back(*ep);
    }
    if (parsed == endpoints_) return;
    endpoints_ = std::move(parsed);
    lite_pending_ = true;
    send_pending_lite_update();
}

void ControlClient::send_pending_lite_update() {
    // From inside a handler callback: wait until the event batch is done. Not polling yet:
    // the lite update goes out once the map poll runs (the map request was built earlier).
    if (!lite_pending_ || dispatch_depth_ > 0 || !conn_ || !conn_->session().is_polling()) {
        return;
    }
    lite_pending_ = false;
    tailnet::MapRequest req;
    req.hostinfo = hostinfo();
    req.endpoints = endpoints_;
    if (auto st = conn_->send_lite(loop_.now(), std::move(req)); !st) {
        if (conn_) fail_attempt(st.error());
    }
}

ControlStatus ControlClient::status() const {
    ControlStatus s;
    s.control_url = options_.config.control_url.to_string();
    s.state = state_;
    s.detail = detail_;
    s.login_name = login_name_;
    s.last_map = last_map_;
    s.reconnects = reconnects_;
    s.map_messages = map_messages_;
    return s;
}

}  // namespace tunless::app
