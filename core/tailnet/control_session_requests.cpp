// ControlSession request half: /machine/register (pre-auth key, interactive login with the
// blocking Followup leg, NodeKeyExpired) and /machine/map (the long poll and lite updates),
// after tailscale control/controlclient/direct.go doLogin and sendMapRequest, with headscale
// hscontrol/auth.go and poll.go for the server side. Facts: tailscale.md §2-3.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "core/tailnet/capability_version.hpp"
#include "core/tailnet/control_session.hpp"

namespace tunless::tailnet {

namespace {

const H2Headers& json_headers() {
    static const H2Headers h{{"content-type", "application/json"}};
    return h;
}

Bytes to_bytes(const std::string& s) { return {s.begin(), s.end()}; }

ControlEvent event(ControlEventKind kind, std::string detail = {}) {
    ControlEvent e;
    e.kind = kind;
    e.detail = std::move(detail);
    return e;
}

// Server text goes into our error messages and logs: printable ASCII only, bounded.
std::string printable(ByteView body, std::size_t cap) {
    std::string s;
    for (std::uint8_t c : body.first(std::min(body.size(), cap))) {
        s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace

void ControlSession::Request::reset(std::int32_t stream_id) {
    stream_id_ = stream_id;
    status_ = 0;
    body_.clear();
}

void ControlSession::Request::on_response_headers(int status, const H2Headers& /*headers*/) {
    status_ = status;
}

void ControlSession::Request::on_data(ByteView chunk) { session_.on_request_data(*this, chunk); }

void ControlSession::Request::on_close(const Status& result) {
    session_.on_request_closed(*this, result);
}

std::string ControlSession::error_body(const Request& r) const {
    std::string text = printable(r.body_, kMaxErrorBodyText);
    return "HTTP " + std::to_string(r.status_) + (text.empty() ? "" : ": " + text);
}

void ControlSession::submit_register() {
    RegisterRequest req;
    req.version = kCapabilityVersion;
    req.node_key = config_.node_key;
    req.old_node_key = config_.old_node_key;
    // The Followup leg carries no Auth (direct.go doLogin sends the AuthURL instead).
    if (followup_.empty()) req.auth_key = config_.auth_key;
    req.followup = followup_;
    req.hostinfo = config_.hostinfo;
    req.ephemeral = config_.ephemeral;
    std::string json = to_json(req);
    auto id = h2_->submit("POST", "/machine/register", config_.host, json_headers(), to_bytes(json),
                          register_);
    crypto::secure_wipe(json.data(), json.size());  // may hold the pre-auth key
    if (!id) {
        set_error(id.error().code, "control: register: " + id.error().message);
        return;
    }
    register_.reset(*id);
}

void ControlSession::start_map_poll() {
    MapRequest req;
    req.version = kCapabilityVersion;
    req.node_key = config_.node_key;
    req.disco_key = config_.disco_key;
    req.stream = true;
    req.keep_alive = true;
    req.omit_peers = false;
    req.hostinfo = config_.hostinfo;
    req.endpoints = config_.endpoints;
    req.endpoint_types = config_.endpoint_types;
    // Compress is left out (= ""): the body is plain JSON (tailscale.md §3.1).
    auto id = h2_->submit("POST", "/machine/map", config_.host, json_headers(),
                          to_bytes(to_json(req)), map_);
    if (!id) {
        set_error(id.error().code, "control: map: " + id.error().message);
        return;
    }
    map_.reset(*id);
    phase_ = Phase::kPolling;
    deadline_ = now_ + config_.map_watchdog;
}

void ControlSession::submit_lite(MapRequest req) {
    req.version = kCapabilityVersion;
    req.node_key = config_.node_key;
    req.disco_key = config_.disco_key;
    // Go's pattern for hostinfo/endpoint changes; headscale answers a bare 200 (poll.go).
    req.stream = false;
    req.keep_alive = false;
    req.omit_peers = true;
    auto id = h2_->submit("POST", "/machine/map", config_.host, json_headers(),
                          to_bytes(to_json(req)), lite_);
    if (!id) {
        set_error(id.error().code, "control: lite update: " + id.error().message);
        return;
    }
    lite_.reset(*id);
    ++lite_sent_;
}

void ControlSession::on_request_data(Request& r, ByteView chunk) {
    if (r.kind_ == RequestKind::kMap && r.status_ == 200) {
        on_map_data(r, chunk);
        return;
    }
    // Small bodies: acknowledged at once, kept up to their cap.
    h2_->consume(r.stream_id_, chunk.size());
    const std::size_t cap = r.status_ == 200 && r.kind_ == RequestKind::kRegister
                                ? kMaxRegisterBody
                                : kMaxErrorBodyText;
    if (r.body_.size() + chunk.size() > cap) {
        if (r.status_ == 200 && r.kind_ == RequestKind::kRegister) {
            set_error(Errc::kLimitReached, "control: register answer too large");
            return;
        }
        chunk = chunk.first(cap - std::min(cap, r.body_.size()));
    }
    r.body_.insert(r.body_.end(), chunk.begin(), chunk.end());
}

void ControlSession::on_map_data(Request& r, ByteView chunk) {
    if (auto st = map_reader_.feed(chunk); !st) {
        set_error(st.error().code, "control: map stream: " + st.error().message);
        return;
    }
    for (;;) {
        auto next = map_reader_.next();
        if (!next) {
            set_error(next.error().code, "control: map stream: " + next.error().message);
            return;
        }
        if (!next->has_value()) return;
        const std::string_view json = **next;
        const std::size_t framed = MapMessageReader::kHeaderLen + json.size();
        auto parsed = parse_map_response(json);
        if (!parsed) {
            set_error(parsed.error().code, "control: map message: " + parsed.error().message);
            return;
        }
        ControlEvent e;
        e.kind = ControlEventKind::kMapResponse;
        e.map = std::move(parsed.value());
        e.first_in_stream = map_messages_ == 0;
        ++map_messages_;
        emit(std::move(e));
        // Handed out: only now may the server send more (flow-control backpressure).
        h2_->consume(r.stream_id_, framed);
        deadline_ = now_ + config_.map_watchdog;
    }
}

void ControlSession::on_request_closed(Request& r, const Status& result) {
    r.stream_id_ = 0;
    const char* what = r.kind_ == RequestKind::kRegister ? "register"
                       : r.kind_ == RequestKind::kMap    ? "map poll"
                                                         : "lite update";
    if (phase_ == Phase::kFinished || phase_ == Phase::kFailed) return;
    if (!result) {
        set_error(result.error().code,
                  std::string("control: ") + what + ": " + result.error().message);
        return;
    }
    if (r.status_ != 200) {
        // headscale: 400 + text for an unsupported capver, 404 for an unknown node key.
        set_error(r.status_ == 401 || r.status_ == 403 || r.status_ == 400 ? Errc::kRefused
                                                                           : Errc::kProtocol,
                  std::string("control: ") + what + ": " + error_body(r));
        return;
    }
    switch (r.kind_) {
        case RequestKind::kRegister:
            on_register_answer(r);
            return;
        case RequestKind::kMap:
            set_error(Errc::kClosed, map_reader_.mid_message()
                                         ? "control: map stream ended inside a message"
                                         : "control: map stream ended");
            return;
        case RequestKind::kLite:
            if (lite_queued_) {
                MapRequest next = std::move(*lite_queued_);
                lite_queued_.reset();
                submit_lite(std::move(next));
            }
            return;
    }
}

void ControlSession::on_register_answer(const Request& r) {
    const std::string_view json(reinterpret_cast<const char*>(r.body_.data()), r.body_.size());
    auto parsed = parse_register_response(json);
    if (!parsed) {
        set_error(parsed.error().code, "control: register answer: " + parsed.error().message);
        return;
    }
    RegisterResponse& resp = parsed.value();
    if (!resp.error.empty()) {
        // Error set: the rest is meaningless (tailcfg.RegisterResponse).
        set_error(Errc::kRefused,
                  "control: registration refused: " +
                      printable({reinterpret_cast<const std::uint8_t*>(resp.error.data()),
                                 resp.error.size()},
                                kMaxErrorBodyText));
        return;
    }
    if (resp.node_key_expired) {
        phase_ = Phase::kFinished;
        deadline_ = kNever;
        emit(event(ControlEventKind::kNodeKeyExpired));
        return;
    }
    if (!resp.auth_url.empty() && !resp.machine_authorized) {
        if (!followup_.empty()) {
            set_error(Errc::kRefused, "control: the login was not completed");
            return;
        }
        // Interactive login: show the URL, then register again with Followup; headscale
        // blocks that request until the login is approved (auth.go, direct.go doLogin).
        followup_ = resp.auth_url;
        emit(event(ControlEventKind::kNeedsLogin, resp.auth_url));
        phase_ = Phase::kAwaitingLogin;
        deadline_ = now_ + config_.login_wait_timeout;
        submit_register();
        return;
    }
    // No AuthURL: logged in. Go polls even while MachineAuthorized is false (a device waiting
    // for admin approval learns it from the map's self node).
    ControlEvent registered = event(ControlEventKind::kRegistered);
    registered.registration = std::move(resp);
    emit(std::move(registered));
    start_map_poll();
}

}  // namespace tunless::tailnet
