// ControlSession transport half: upgrade head, Noise response, record channel, early payload,
// HTTP/2 plumbing, deadlines. The register/map/lite requests live in
// control_session_requests.cpp.
#include "core/tailnet/control_session.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "core/tailnet/capability_version.hpp"
#include "core/tailnet/http1.hpp"

namespace tunless::tailnet {

namespace {

H2Limits session_limits() {
    H2Limits l;
    // Map bytes are consume()d per whole message (backpressure: nothing is acknowledged that
    // was not handed out), so one stream window must hold the largest message.
    l.stream_window =
        static_cast<std::uint32_t>(kMaxMapMessage + MapMessageReader::kHeaderLen + 64 * 1024);
    l.connection_window = l.stream_window + 1024 * 1024;
    l.max_streams = 4;  // register, map poll, one lite update, one spare
    return l;
}

const char* phase_name(ControlSession::Phase p) {
    switch (p) {
        case ControlSession::Phase::kIdle:
            return "idle";
        case ControlSession::Phase::kUpgrade:
            return "HTTP upgrade";
        case ControlSession::Phase::kNoiseResponse:
            return "Noise handshake";
        case ControlSession::Phase::kRegistering:
            return "registration";
        case ControlSession::Phase::kAwaitingLogin:
            return "login approval";
        case ControlSession::Phase::kPolling:
            return "map poll";
        case ControlSession::Phase::kFinished:
            return "finished";
        case ControlSession::Phase::kFailed:
            return "failed";
    }
    return "?";
}

}  // namespace

Result<std::unique_ptr<ControlSession>> ControlSession::create(ControlSessionConfig config,
                                                               Rng& rng) {
    if (config.host.empty()) return fail(Errc::kInvalidArgument, "control: empty host");
    if (config.node_key.is_zero() || config.disco_key.is_zero() || config.control_key.is_zero()) {
        return fail(Errc::kInvalidArgument, "control: node, disco and control keys must be set");
    }
    auto hs =
        ControlHandshake::create(config.machine_key, config.control_key, kCapabilityVersion, rng);
    if (!hs) return hs.error();
    return std::unique_ptr<ControlSession>(
        new ControlSession(std::move(config), std::move(hs.value())));
}

ControlSession::ControlSession(ControlSessionConfig config, ControlHandshake handshake)
    : config_(std::move(config)), handshake_(std::move(handshake)) {}

ControlSession::~ControlSession() {
    if (config_.auth_key) {
        crypto::secure_wipe(config_.auth_key->data(), config_.auth_key->size());
    }
}

template <typename Step>
Status ControlSession::run(Instant now, Bytes& out, std::vector<ControlEvent>& events,
                           Step&& step) {
    if (failure_) return *failure_;
    now_ = now;
    events_ = &events;
    step();
    if (!failure_ && h2_) flush(out);
    events_ = nullptr;
    if (failure_) {
        phase_ = Phase::kFailed;
        deadline_ = kNever;
        return *failure_;
    }
    return {};
}

void ControlSession::set_error(Errc code, std::string message) {
    if (!failure_) failure_ = make_error(code, std::move(message));
}

void ControlSession::emit(ControlEvent event) {
    if (events_ != nullptr) events_->push_back(std::move(event));
}

Status ControlSession::start(Instant now, Bytes& out) {
    if (phase_ != Phase::kIdle) return fail(Errc::kInvalidArgument, "control: already started");
    auto req = build_ts2021_upgrade_request(config_.host, handshake_.initiation());
    if (!req) return req.error();
    out.insert(out.end(), req->begin(), req->end());
    phase_ = Phase::kUpgrade;
    deadline_ = now + config_.setup_timeout;
    return {};
}

Status ControlSession::on_bytes(Instant now, ByteView in, Bytes& out,
                                std::vector<ControlEvent>& events) {
    return run(now, out, events, [&] { feed(in); });
}

Status ControlSession::on_timer(Instant now, Bytes& out, std::vector<ControlEvent>& events) {
    const auto watchdog_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(config_.map_watchdog);
    return run(now, out, events, [&] {
        if (now < deadline_) return;
        switch (phase_) {
            case Phase::kAwaitingLogin:
                set_error(Errc::kTimedOut, "control: the login was not approved in time");
                return;
            case Phase::kPolling:
                // direct.go: the map poll's watchdog; keep-alives reset it too.
                set_error(Errc::kTimedOut, "control: no map message for " +
                                               std::to_string(watchdog_seconds.count()) + " s");
                return;
            default:
                set_error(Errc::kTimedOut,
                          std::string("control: no answer during the ") + phase_name(phase_));
                return;
        }
    });
}

Error ControlSession::on_eof() const {
    if (failure_) return *failure_;
    switch (phase_) {
        case Phase::kUpgrade:
            return make_error(Errc::kClosed, "control: connection closed before the 101 answer");
        case Phase::kNoiseResponse:
            // headscale's version gate and a failed Noise handshake both close right after the
            // 101 without flushing the corked response (tailscale.md §1.5).
            return make_error(Errc::kRefused,
                              "control: connection closed after the 101 answer (capability "
                              "version " +
                                  std::to_string(kCapabilityVersion) +
                                  " rejected or wrong control key?)");
        case Phase::kPolling:
            return make_error(Errc::kClosed, "control: connection closed during the map poll");
        default:
            return make_error(Errc::kClosed, std::string("control: connection closed during the ") +
                                                 phase_name(phase_));
    }
}

void ControlSession::feed(ByteView in) {
    switch (phase_) {
        case Phase::kIdle:
            set_error(Errc::kProtocol, "control: bytes before the upgrade request");
            return;
        case Phase::kUpgrade:
            pending_.insert(pending_.end(), in.begin(), in.end());
            feed_head();
            return;
        case Phase::kNoiseResponse:
            pending_.insert(pending_.end(), in.begin(), in.end());
            feed_noise_response();
            return;
        case Phase::kFinished:
            return;  // the caller is about to close: nothing more matters
        default:
            feed_channel(in);
            return;
    }
}

void ControlSession::feed_head() {
    auto parsed = parse_response_head(pending_);
    if (!parsed) {
        set_error(parsed.error().code, "control: upgrade answer: " + parsed.error().message);
        return;
    }
    if (parsed->need_more()) return;  // bounded by parse_response_head (kHttpMaxHeadLen)
    if (auto st = check_upgrade_response(*parsed->head, kControlUpgradeToken); !st) {
        set_error(st.error().code, "control: upgrade refused: " + st.error().message);
        return;
    }
    // Bytes after the blank line are the Noise response: keep them.
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(parsed->consumed));
    phase_ = Phase::kNoiseResponse;
    feed_noise_response();
}

void ControlSession::feed_noise_response() {
    auto step = handshake_.read_response(pending_);
    if (!step) {
        const Error& e = step.error();
        set_error(e.code, e.code == Errc::kRefused
                              ? "control: server refused the Noise handshake: " + e.message
                              : "control: Noise handshake: " + e.message);
        return;
    }
    if (step->need_more()) return;
    channel_.emplace(std::move(*step->channel));
    Bytes rest(pending_.begin() + static_cast<long>(step->consumed), pending_.end());
    pending_.clear();
    pending_.shrink_to_fit();
    auto h2 = H2Client::create(session_limits());
    if (!h2) {
        set_error(h2.error().code, "control: " + h2.error().message);
        return;
    }
    h2_ = std::move(h2.value());
    phase_ = Phase::kRegistering;
    submit_register();
    if (!failure_ && !rest.empty()) feed_channel(rest);
}

void ControlSession::feed_channel(ByteView in) {
    Bytes plain;
    if (auto st = channel_->open(in, plain); !st) {
        set_error(st.error().code, "control: Noise channel: " + st.error().message);
        return;
    }
    Bytes h2_in;
    if (auto st = early_.feed(plain, h2_in); !st) {
        set_error(st.error().code, "control: " + st.error().message);
        return;
    }
    // The nodeKeyChallenge is unused by Go clients too (ts2021/conn.go): parse and drop.
    (void)early_.take_early_json();
    if (h2_in.empty()) return;
    if (auto st = h2_->on_bytes(h2_in); !st) {
        set_error(st.error().code, "control: HTTP/2: " + st.error().message);
    }
}

void ControlSession::flush(Bytes& out) {
    // take_output hands out bounded chunks; stop if a call yields nothing (no busy loop).
    while (h2_->wants_output()) {
        Bytes chunk;
        h2_->take_output(chunk);
        if (chunk.empty()) break;
        if (auto st = channel_->seal(chunk, out); !st) {
            set_error(st.error().code, "control: Noise channel: " + st.error().message);
            return;
        }
    }
}

Status ControlSession::send_lite_update(Instant now, MapRequest req, Bytes& out,
                                        std::vector<ControlEvent>& events) {
    if (failure_) return *failure_;
    if (phase_ != Phase::kPolling) {
        return fail(Errc::kInvalidArgument, "control: lite update outside the map poll");
    }
    return run(now, out, events, [&] {
        if (lite_.stream_id_ != 0) {
            lite_queued_ = std::move(req);
            return;
        }
        submit_lite(std::move(req));
    });
}

}  // namespace tunless::tailnet
