// DerpClientSession: frame reassembly with per-type buffering caps, the login exchange and
// liveness (tailscale derp/derp_client.go newClient/Recv, derp/derphttp).
#include "core/tailnet/derp_client_session.hpp"

#include <algorithm>

namespace tunless::tailnet {
namespace {

using namespace derp;

constexpr std::size_t kMaxServerInfoPayload = kNonceLen + kBoxOverhead + 4096;
constexpr std::size_t kMaxHealthText = 1024;

// How much of a frame's payload we buffer; the rest is skipped without being stored. Types
// with 0 are skipped whole. Handlers decide what a truncated payload means.
std::size_t payload_cap(std::uint8_t type) {
    switch (type) {
        case kServerKey: return kServerKeyMaxLen;
        case kServerInfo: return kMaxServerInfoPayload;
        case kRecvPacket: return kKeyLen + kMaxPacketLen;
        case kPeerGone: return kKeyLen + 1;
        case kPeerPresent: return kKeyLen;
        case kPing:
        case kPong:
        case kRestarting: return 8;
        case kHealth: return kMaxHealthText;
        default: return 0;
    }
}

crypto::PublicKey key_at(ByteView p) {
    crypto::PublicKey k;
    std::copy_n(p.begin(), kKeyLen, k.bytes.begin());
    return k;
}

std::string printable(ByteView text) {
    std::string s;
    s.reserve(text.size());
    for (std::uint8_t c : text) {
        s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    return s;
}

DerpEvent event(DerpEventKind kind) {
    DerpEvent e;
    e.kind = kind;
    return e;
}

}  // namespace

DerpClientSession::DerpClientSession(const crypto::PrivateKey& node_key, Rng& rng, bool is_home,
                                     Instant now)
    : node_key_(node_key), rng_(rng), is_home_(is_home), last_rx_(now) {}

Status DerpClientSession::fail_session(Errc code, const char* what) {
    state_ = State::kFailed;
    payload_.clear();
    return fail(code, what);
}

Status DerpClientSession::on_bytes(Instant now, ByteView in, Bytes& out,
                                   std::vector<DerpEvent>& events) {
    if (is_dead()) {
        return fail(Errc::kClosed, "derp: session is closed");
    }
    if (!in.empty()) {
        last_rx_ = now;
    }
    while (!in.empty()) {
        // The rest of a frame whose kept payload was handled already (header_len_ is back
        // to 0 then; it stays 5 while the kept payload is collected).
        if (header_len_ == 0 && skip_ > 0) {
            const std::size_t n = std::min(skip_, in.size());
            skip_ -= n;
            in = in.subspan(n);
            continue;
        }
        if (header_len_ < kFrameHeaderLen) {
            const std::size_t n = std::min(kFrameHeaderLen - header_len_, in.size());
            std::copy_n(in.begin(), n, header_.begin() + static_cast<std::ptrdiff_t>(header_len_));
            header_len_ += n;
            in = in.subspan(n);
            if (header_len_ == kFrameHeaderLen) {
                if (auto st = begin_frame(now, out, events); !st) {
                    return st;
                }
            }
            continue;
        }
        if (payload_.empty() && in.size() >= keep_) {
            const ByteView whole = in.first(keep_);
            in = in.subspan(keep_);
            if (auto st = finish_frame(whole, now, out, events); !st) {
                return st;
            }
            continue;
        }
        const std::size_t n = std::min(keep_ - payload_.size(), in.size());
        payload_.insert(payload_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
        in = in.subspan(n);
        if (payload_.size() == keep_) {
            const Status st = finish_frame(payload_, now, out, events);
            payload_.clear();
            if (!st) {
                return st;
            }
        }
    }
    return {};
}

Status DerpClientSession::begin_frame(Instant now, Bytes& out, std::vector<DerpEvent>& events) {
    frame_ = *parse_frame_header(header_);
    if (frame_.length > kMaxFrameLen) {
        return fail_session(Errc::kProtocol, "derp: frame larger than 1 MiB");
    }
    if (state_ == State::kAwaitServerKey && frame_.type != kServerKey) {
        return fail_session(Errc::kProtocol, "derp: invalid server greeting");
    }
    keep_ = std::min<std::size_t>(frame_.length, payload_cap(frame_.type));
    skip_ = frame_.length - keep_;
    payload_.clear();
    if (keep_ == 0) {
        return finish_frame({}, now, out, events);
    }
    return {};
}

Status DerpClientSession::finish_frame(ByteView payload, Instant now, Bytes& out,
                                       std::vector<DerpEvent>& events) {
    header_len_ = 0;
    ++stats_.frames_received;
    return on_frame(frame_.type, payload, frame_.length > payload.size(), now, out, events);
}

Status DerpClientSession::on_server_key(ByteView payload, bool truncated, Bytes& out,
                                        std::vector<DerpEvent>& events) {
    if (truncated) {
        return fail_session(Errc::kProtocol, "derp: server greeting larger than 1 KiB");
    }
    auto key = parse_server_key(payload);
    if (!key) {
        return fail_session(Errc::kProtocol, "derp: invalid server greeting");
    }
    server_key_ = *key;
    if (auto st = append_client_info(out, node_key_, server_key_, rng_); !st) {
        return fail_session(st.error().code, "derp: server key is a weak key");
    }
    state_ = State::kConnected;
    if (is_home_) {
        append_note_preferred(out, true);
    }
    events.push_back(event(DerpEventKind::kConnected));
    return {};
}

void DerpClientSession::on_pong(ByteView payload, Instant now, std::vector<DerpEvent>& events) {
    DerpEvent e = event(DerpEventKind::kPong);
    std::copy_n(payload.begin(), 8, e.ping_data.begin());
    if (ping_outstanding_ && e.ping_data == ping_data_) {
        e.rtt = now - ping_sent_at_;
        ping_outstanding_ = false;
    }
    events.push_back(std::move(e));
}

Status DerpClientSession::on_frame(std::uint8_t type, ByteView payload, bool truncated, Instant now,
                                   Bytes& out, std::vector<DerpEvent>& events) {
    if (state_ == State::kAwaitServerKey) {
        return on_server_key(payload, truncated, out, events);
    }
    switch (type) {
        case kServerInfo: {
            if (truncated) {
                ++stats_.oversize_dropped;
                return {};
            }
            auto info = open_server_info(payload, node_key_, server_key_);
            if (!info) {
                // derp_client.go: an invalid server info frame ends the connection.
                return fail_session(info.error().code, "derp: invalid ServerInfo frame");
            }
            DerpEvent e = event(DerpEventKind::kServerInfo);
            e.server_info = std::move(*info);
            events.push_back(std::move(e));
            return {};
        }
        case kRecvPacket: {
            if (truncated || payload.size() < kKeyLen) {
                ++(truncated ? stats_.oversize_dropped : stats_.malformed_frames);
                return {};
            }
            DerpEvent e = event(DerpEventKind::kPacket);
            e.peer = key_at(payload);
            e.packet.assign(payload.begin() + kKeyLen, payload.end());
            ++stats_.packets_received;
            events.push_back(std::move(e));
            return {};
        }
        case kPeerGone:
        case kPeerPresent: {
            if (payload.size() < kKeyLen) {
                ++stats_.malformed_frames;
                return {};
            }
            DerpEvent e =
                event(type == kPeerGone ? DerpEventKind::kPeerGone : DerpEventKind::kPeerPresent);
            e.peer = key_at(payload);
            e.reason = payload.size() > kKeyLen ? payload[kKeyLen] : 0;
            events.push_back(std::move(e));
            return {};
        }
        case kKeepAlive: events.push_back(event(DerpEventKind::kKeepAlive)); return {};
        case kPing: {
            if (payload.size() < 8) {
                ++stats_.malformed_frames;
                return {};
            }
            PingData data;
            std::copy_n(payload.begin(), 8, data.begin());
            append_pong(out, data);
            ++stats_.pings_answered;
            return {};
        }
        case kPong:
            if (payload.size() < 8) {
                ++stats_.malformed_frames;
                return {};
            }
            on_pong(payload, now, events);
            return {};
        case kHealth: {
            DerpEvent e = event(DerpEventKind::kHealth);
            e.text = printable(payload);
            events.push_back(std::move(e));
            return {};
        }
        case kRestarting: {
            if (payload.size() < 8) {
                ++stats_.malformed_frames;
                return {};
            }
            DerpEvent e = event(DerpEventKind::kRestarting);
            e.reconnect_in = std::chrono::milliseconds(load_be32(payload.data()));
            e.try_for = std::chrono::milliseconds(load_be32(payload.data() + 4));
            events.push_back(std::move(e));
            return {};
        }
        default:
            ++stats_.unknown_frames;  // incl. a second ServerKey and client-only types
            return {};
    }
}

Status DerpClientSession::send_packet(const crypto::PublicKey& dst, ByteView packet, Bytes& out) {
    if (is_dead()) {
        return fail(Errc::kClosed, "derp: session is closed");
    }
    if (state_ != State::kConnected) {
        return fail(Errc::kUnreachable, "derp: not connected yet");
    }
    if (packet.size() > kMaxPacketLen) {
        return fail(Errc::kInvalidArgument, "derp: packet larger than 64 KiB");
    }
    append_send_packet(out, dst, packet);
    ++stats_.packets_sent;
    return {};
}

void DerpClientSession::note_preferred(bool preferred, Bytes& out) {
    is_home_ = preferred;
    if (state_ == State::kConnected) {
        append_note_preferred(out, preferred);
    }
}

void DerpClientSession::send_ping(Instant now, Bytes& out) {
    if (state_ != State::kConnected) {
        return;
    }
    rng_.fill(ping_data_);
    append_ping(out, ping_data_);
    ping_outstanding_ = true;
    ping_sent_at_ = now;
    ++stats_.pings_sent;
}

// A ping is due after kDerpPingAfterIdle of silence, once per silence: anything received
// after our last ping makes the next one allowed again.
Instant DerpClientSession::next_deadline() const {
    if (is_dead()) {
        return kNever;
    }
    const Instant dead_at = last_rx_ + kDerpDeadAfter;
    const bool can_ping = !ping_outstanding_ || ping_sent_at_ < last_rx_;
    if (state_ == State::kConnected && can_ping) {
        return std::min(dead_at, last_rx_ + kDerpPingAfterIdle);
    }
    return dead_at;
}

void DerpClientSession::on_timer(Instant now, Bytes& out, std::vector<DerpEvent>& events) {
    if (is_dead()) {
        return;
    }
    if (now >= last_rx_ + kDerpDeadAfter) {
        state_ = State::kDead;
        payload_.clear();
        events.push_back(event(DerpEventKind::kDead));
        return;
    }
    const bool can_ping = !ping_outstanding_ || ping_sent_at_ < last_rx_;
    if (state_ == State::kConnected && can_ping && now >= last_rx_ + kDerpPingAfterIdle) {
        send_ping(now, out);
    }
}

}  // namespace tunless::tailnet
