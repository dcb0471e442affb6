// DerpRegionConn: dial, TLS, `GET /derp` upgrade, DerpClientSession, backoff
// (tailscale derp/derphttp/derphttp_client.go connect/dialNode/tlsClient, derp/derp_client.go).
#include "tools/tunless/app/tailnet_derp_conn.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/tailnet/derp_frames.hpp"
#include "core/tailnet/http1.hpp"

namespace tunless::app {
namespace {

constexpr std::string_view kPinPrefix = "sha256-raw:";
// A Restarting hint longer than this is not waited for (a server cannot park us for hours).
constexpr Duration kMaxRestartWait = std::chrono::seconds(60);

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::optional<std::array<std::uint8_t, 32>> parse_pin(std::string_view hex) {
    std::array<std::uint8_t, 32> out{};
    if (hex.size() != 2 * out.size()) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit(hex[2 * i]);
        const int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return out;
}

// IPv4/IPv6 DERPNode fields: "" = resolve HostName, "none" = family disabled, else a literal.
bool usable_literal(const std::string& field) {
    return !field.empty() && field != "none" && IpAddress::parse(field).has_value();
}

// TLS per derphttp tlsClient. SNI and the verified name share one field in TlsOptions, so a
// CertName (the name the certificate must carry) replaces HostName in both. False: bad pin.
bool set_tls(const tailnet::DERPNode& node, const std::string& ca_file, io::TlsOptions& tls) {
    tls.enabled = true;
    tls.ca_file = ca_file;
    tls.server_name = node.host_name;
    if (node.cert_name.starts_with(kPinPrefix)) {
        tls.pinned_cert_sha256 =
            parse_pin(std::string_view(node.cert_name).substr(kPinPrefix.size()));
        return tls.pinned_cert_sha256.has_value();
    }
    if (!node.cert_name.empty()) {
        tls.server_name = node.cert_name;
    }
    return true;
}

std::string seconds_text(Duration d) {
    return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

}  // namespace

// Literals are tried one after the other instead of derphttp's v4/v6 race; a name is resolved
// with the families the node leaves enabled.
std::vector<DerpDialTarget> derp_dial_targets(const tailnet::DERPRegion& region,
                                              const std::string& ca_file) {
    std::vector<DerpDialTarget> out;
    for (const auto& node : region.nodes) {
        if (node.stun_only || node.derp_port < 0 || node.derp_port > 65535) {
            continue;
        }
        const auto port = static_cast<std::uint16_t>(node.derp_port == 0 ? 443 : node.derp_port);
        DerpDialTarget t;
        t.node_name = node.name;
        t.options.port = port;
        if (!set_tls(node, ca_file, t.options.tls)) {
            continue;
        }
        const bool v4 = usable_literal(node.ipv4);
        const bool v6 = usable_literal(node.ipv6);
        t.host_header = !node.host_name.empty() ? node.host_name
                        : v4                    ? node.ipv4
                                                : "[" + node.ipv6 + "]";
        if (node.derp_port != 0) {
            t.host_header += ":" + std::to_string(port);
        }
        if (v4 || v6) {
            for (const std::string* lit : {v4 ? &node.ipv4 : nullptr, v6 ? &node.ipv6 : nullptr}) {
                if (lit != nullptr) {
                    t.options.host = *lit;
                    out.push_back(t);
                }
            }
            continue;
        }
        const bool no4 = node.ipv4 == "none";
        const bool no6 = node.ipv6 == "none";
        if (node.host_name.empty() || (no4 && no6)) {
            continue;
        }
        t.options.host = node.host_name;
        t.options.family = no4   ? io::HostFamily::kV6
                           : no6 ? io::HostFamily::kV4
                                 : io::HostFamily::kAny;
        out.push_back(std::move(t));
    }
    return out;
}

DerpRegionConn::DerpRegionConn(DerpRelay& relay, std::uint16_t region,
                               const tailnet::DERPRegion& info, Instant now)
    : relay_(relay),
      region_(region),
      info_(info),
      targets_(derp_dial_targets(info, relay.ca_file_)),
      last_send_(now),
      backoff_(relay.options_.backoff_min) {}

DerpRegionConn::~DerpRegionConn() {
    teardown();
}

void DerpRegionConn::set_info(const tailnet::DERPRegion& info, Instant now) {
    info_ = info;
    targets_ = derp_dial_targets(info_, relay_.ca_file_);
    target_ = 0;
    failures_ = 0;
    restart(now, "DERP map changed");
}

void DerpRegionConn::set_home(bool home, Instant now) {
    if (home_ == home) {
        return;
    }
    home_ = home;
    last_send_ = now;
    if (session_) {
        Bytes out;
        session_->note_preferred(home, out);
        write_control(out);
    }
    if (home_ && phase_ == Phase::kIdle) {
        start(now);
    }
}

void DerpRegionConn::restart(Instant now, const char* why) {
    const bool was_up = logged_in();
    teardown();
    if (was_up) {
        log::info("derp region {}: reconnecting ({})", region_, why);
        relay_.notify_later(region_, false, why);
    }
    start(now);
}

void DerpRegionConn::send(const crypto::PublicKey& dst, ByteView packet, Instant now) {
    last_send_ = now;
    if (packet.size() > tailnet::derp::kMaxPacketLen) {
        drop(now, "larger than 64 KiB");
        return;
    }
    if (logged_in()) {
        write_packet(dst, packet, now);
        return;
    }
    if (queue_.size() >= relay_.options_.max_queued) {
        queue_.pop_front();
        drop(now, "queue full while connecting");
    }
    queue_.push_back({dst, Bytes(packet.begin(), packet.end())});
    if (phase_ == Phase::kIdle) {
        start(now);
    }
}

bool DerpRegionConn::attempting() const {
    return phase_ != Phase::kIdle && phase_ != Phase::kBackoff && !logged_in();
}

Instant DerpRegionConn::next_deadline() const {
    Instant t = home_ ? kNever : last_send_ + relay_.options_.idle_close;
    if (phase_ == Phase::kBackoff) {
        t = std::min(t, retry_at_);
    }
    if (attempting()) {
        t = std::min(t, attempt_deadline_);
    }
    if (session_) {
        t = std::min(t, session_->next_deadline());
    }
    return t;
}

void DerpRegionConn::on_timer(Instant now) {
    if (phase_ == Phase::kBackoff && now >= retry_at_) {
        start(now);
        return;
    }
    if (attempting() && now >= attempt_deadline_) {
        fail(now, make_error(Errc::kTimedOut, "handshake timed out"));
        return;
    }
    if (session_ && now >= session_->next_deadline()) {
        Bytes out;
        std::vector<tailnet::DerpEvent> events;
        session_->on_timer(now, out, events);
        write_control(out);
        dispatch(events, now);
    }
}

void DerpRegionConn::shut() {
    teardown();
    phase_ = Phase::kIdle;
}

DerpRelay::RegionStatus DerpRegionConn::status() const {
    DerpRelay::RegionStatus s;
    s.region = region_;
    s.code = info_.region_code;
    s.connected = logged_in();
    s.home = home_;
    s.rtt = rtt_;
    s.packets_in = packets_in_;
    s.packets_out = packets_out_;
    s.drops = drops_;
    s.reconnects = reconnects_;
    s.last_error = last_error_;
    return s;
}

void DerpRegionConn::start(Instant now) {
    if (!relay_.node_key_) {
        phase_ = Phase::kIdle;  // set_node_key starts us
        return;
    }
    if (targets_.empty()) {
        last_error_ = "no usable DERP node in the region";
        schedule_retry(now, false);
        return;
    }
    const DerpDialTarget& t = targets_[target_ % targets_.size()];
    if (attempts_++ > 0) {
        ++reconnects_;
    }
    attempt_deadline_ = now + relay_.options_.handshake_timeout;
    auto stream = io::ClientStream::start(relay_.loop_, relay_.resolver_, t.options, *this);
    if (!stream) {
        // Synchronous errors are local ones (CA file, options): retry later, as the file may
        // appear, but do not blame the node for them.
        last_error_ = stream.error().message;
        const Duration wait = schedule_retry(now, false);
        log::warn("derp region {}: cannot dial {}: {}; retrying in {}", region_, t.node_name,
                  last_error_, seconds_text(wait));
        return;
    }
    stream_ = std::move(*stream);
    phase_ = Phase::kConnecting;
    log::debug("derp region {}: dialing node {} at {}:{}", region_, t.node_name, t.options.host,
               t.options.port);
}

void DerpRegionConn::on_connected() {
    const DerpDialTarget& t = targets_[target_ % targets_.size()];
    auto req = tailnet::build_derp_upgrade_request(t.host_header);
    if (!req) {
        fail(relay_.loop_.now(), req.error());
        return;
    }
    phase_ = Phase::kUpgrading;
    const ByteView bytes(reinterpret_cast<const std::uint8_t*>(req->data()), req->size());
    if (auto st = stream_->write(bytes); !st) {
        fail(relay_.loop_.now(), st.error());
    }
}

void DerpRegionConn::on_data(ByteView bytes) {
    const Instant now = relay_.loop_.now();
    if (phase_ == Phase::kUpgrading) {
        on_upgrade_bytes(bytes, now);
    } else if (phase_ == Phase::kSession) {
        feed(bytes, now);
    }
}

void DerpRegionConn::on_upgrade_bytes(ByteView bytes, Instant now) {
    head_.insert(head_.end(), bytes.begin(), bytes.end());
    auto parsed = tailnet::parse_response_head(head_);
    if (!parsed) {
        fail(now, parsed.error());
        return;
    }
    if (parsed->need_more()) {
        return;
    }
    if (auto st = tailnet::check_upgrade_response(*parsed->head, tailnet::kDerpUpgradeToken); !st) {
        fail(now, st.error());
        return;
    }
    // The DERP frames start right after the head, possibly in this very read.
    Bytes rest(head_.begin() + static_cast<std::ptrdiff_t>(parsed->consumed), head_.end());
    head_ = Bytes();
    session_.emplace(*relay_.node_key_, relay_.rng_, home_, now);
    phase_ = Phase::kSession;
    if (!rest.empty()) {
        feed(rest, now);
    }
}

void DerpRegionConn::on_writable() {
    if (!ctrl_pending_.empty() && stream_ && stream_->write(ctrl_pending_)) {
        ctrl_pending_.clear();
    }
}

void DerpRegionConn::on_closed(const Error& why) {
    fail(relay_.loop_.now(), why);
}

void DerpRegionConn::feed(ByteView bytes, Instant now) {
    Bytes out;
    std::vector<tailnet::DerpEvent> events;
    const Status st = session_->on_bytes(now, bytes, out, events);
    write_control(out);
    const std::uint64_t gen = generation_;
    dispatch(events, now);
    if (!st && gen == generation_) {
        fail(now, st.error());
    }
}

// Handler callbacks may re-enter the relay (send, set_derp_map, set_node_key): after each
// one, a changed generation means this connection was torn down and the rest is stale.
void DerpRegionConn::dispatch(std::vector<tailnet::DerpEvent>& events, Instant now) {
    const std::uint64_t gen = generation_;
    for (auto& e : events) {
        if (gen != generation_) {
            return;
        }
        switch (e.kind) {
            // The server registers us before it sends ServerInfo (derpserver accept:
            // registerClient, then sendServerInfo; derp_client.go waits for it too): only
            // then do packets to us route, and ours are not dropped as "unknown".
            case tailnet::DerpEventKind::kServerInfo: on_logged_in(now); break;
            case tailnet::DerpEventKind::kPacket:
                ++packets_in_;
                relay_.handler_.on_relay_packet(region_, e.peer, e.packet);
                break;
            case tailnet::DerpEventKind::kPeerGone:
                log::debug("derp region {}: peer {} gone (reason {})", region_,
                           crypto::public_key_short(e.peer), e.reason);
                break;
            case tailnet::DerpEventKind::kPong: rtt_ = e.rtt ? e.rtt : rtt_; break;
            case tailnet::DerpEventKind::kHealth: on_health(e.text); break;
            case tailnet::DerpEventKind::kRestarting:
                // derphttp: the server asks us to come back after reconnect_in.
                restart_hint_ = std::min<Duration>(e.reconnect_in, kMaxRestartWait);
                log::info("derp region {}: server restarting, reconnect in {}", region_,
                          seconds_text(*restart_hint_));
                break;
            case tailnet::DerpEventKind::kDead:
                fail(now, make_error(Errc::kTimedOut, "nothing received for 120 s"));
                return;
            case tailnet::DerpEventKind::kConnected:
            case tailnet::DerpEventKind::kPeerPresent:
            case tailnet::DerpEventKind::kKeepAlive: break;
        }
    }
}

void DerpRegionConn::on_health(const std::string& text) {
    if (!text.empty() && text != health_) {
        log::warn("derp region {}: server reports a problem: {}", region_, text);
    } else if (text.empty() && !health_.empty()) {
        log::info("derp region {}: server reports healthy again", region_);
    }
    health_ = text;
}

void DerpRegionConn::on_logged_in(Instant now) {
    backoff_ = relay_.options_.backoff_min;
    failures_ = 0;
    restart_hint_.reset();
    log::info("derp region {} ({}): connected{}", region_, info_.region_code,
              home_ ? " (home)" : "");
    Bytes out;
    session_->send_ping(now, out);  // an RTT for status() right away
    write_control(out);
    std::deque<Queued> queued;
    queued.swap(queue_);
    for (const auto& q : queued) {
        write_packet(q.dst, q.packet, now);
    }
    relay_.handler_.on_relay_state(region_, true, "");
}

// Control frames (ClientInfo, Pong, NotePreferred) must not be lost: a refused write is kept
// and retried from on_writable; data waits behind it (and is dropped meanwhile).
void DerpRegionConn::write_control(const Bytes& out) {
    if (out.empty() || !stream_) {
        return;
    }
    if (ctrl_pending_.empty() && stream_->write(out)) {
        return;
    }
    if (ctrl_pending_.size() + out.size() > tailnet::derp::kMaxFrameLen) {
        fail(relay_.loop_.now(), make_error(Errc::kLimitReached, "control frames backlog"));
        return;
    }
    ctrl_pending_.insert(ctrl_pending_.end(), out.begin(), out.end());
}

void DerpRegionConn::write_packet(const crypto::PublicKey& dst, ByteView packet, Instant now) {
    scratch_.clear();
    if (!session_->send_packet(dst, packet, scratch_) || !ctrl_pending_.empty() ||
        !stream_->write(scratch_)) {
        drop(now, "send buffer full");
        return;
    }
    ++packets_out_;
}

void DerpRegionConn::drop(Instant now, const char* why) {
    ++drops_;
    log::debug_limited(drop_log_, now, "derp region {}: datagram dropped: {}", region_, why);
}

void DerpRegionConn::fail(Instant now, const Error& why) {
    const bool was_up = logged_in();
    teardown();
    last_error_ = why.message;
    if (!was_up && !targets_.empty() && ++failures_ >= kDerpFailuresPerNode) {
        failures_ = 0;
        target_ = (target_ + 1) % targets_.size();  // repeated failure: the next node
    }
    const Duration wait = schedule_retry(now, was_up);
    log::warn("derp region {}: {}: {}; retrying in {}", region_,
              was_up ? "connection lost" : "connect failed", why.message, seconds_text(wait));
    relay_.handler_.on_relay_state(region_, false, why.message);
}

Duration DerpRegionConn::schedule_retry(Instant now, bool was_up) {
    Duration wait;
    if (restart_hint_) {
        wait = *restart_hint_;
        restart_hint_.reset();
        backoff_ = relay_.options_.backoff_min;
    } else {
        if (was_up) {
            backoff_ = relay_.options_.backoff_min;
        }
        // Half the step plus up to another half: clients of a restarted server spread out.
        const auto half = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_) / 2;
        wait = half + std::chrono::milliseconds(
                          relay_.rng_.uniform(static_cast<std::uint32_t>(half.count()) + 1));
        backoff_ = std::min<Duration>(backoff_ * 2, relay_.options_.backoff_max);
    }
    phase_ = Phase::kBackoff;
    retry_at_ = now + wait;
    return wait;
}

// The stream may be the one whose callback we are in: close it now, destroy it after the round.
void DerpRegionConn::teardown() {
    ++generation_;
    if (stream_) {
        stream_->close();
        auto holder = std::make_shared<std::unique_ptr<io::ClientStream>>(std::move(stream_));
        relay_.loop_.post([holder] { holder->reset(); });
    }
    session_.reset();
    head_.clear();
    ctrl_pending_.clear();
    phase_ = Phase::kIdle;
}

}  // namespace tunless::app
