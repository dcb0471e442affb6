// Sans-IO DERP client for one relay connection, used after the HTTP 101 to GET /derp
// (tailscale derp/derp_client.go, derp/derphttp/derphttp_client.go). Feed it the bytes the
// server sends; it answers ServerKey with ClientInfo, Pings with Pongs, turns frames into
// DerpEvents and watches liveness. The caller owns the TLS stream and writes `out`. Not the
// region/home selection or the magicsock routing of packets: that is the caller's job.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/tailnet/derp_frames.hpp"

namespace tunless::tailnet {

enum class DerpEventKind : std::uint8_t {
    kConnected,    // ServerKey seen, ClientInfo sent: send_packet works from now on
    kServerInfo,   // server_info filled
    kPacket,       // peer = source node key, packet = the datagram (WireGuard or disco)
    kPeerGone,     // peer left this server; reason 0 = disconnected, 1 = not here
    kPeerPresent,  // peer (mesh/watcher clients only)
    kKeepAlive,
    kPong,        // ping_data; rtt set when it answers our own outstanding ping
    kHealth,      // text = problem; empty = healthy again
    kRestarting,  // reconnect_in / try_for hints
    kDead,        // nothing received for kDerpDeadAfter: reconnect
};

struct DerpEvent {
    DerpEventKind kind = DerpEventKind::kKeepAlive;
    crypto::PublicKey peer;
    Bytes packet;
    std::string text;
    std::uint8_t reason = 0;
    derp::PingData ping_data{};
    std::optional<Duration> rtt;
    std::chrono::milliseconds reconnect_in{0};
    std::chrono::milliseconds try_for{0};
    derp::ServerInfo server_info;
};

struct DerpStats {
    std::uint64_t frames_received = 0;
    std::uint64_t packets_received = 0;
    std::uint64_t packets_sent = 0;
    std::uint64_t malformed_frames = 0;  // too short for their type, dropped
    std::uint64_t oversize_dropped = 0;  // packets > 64 KiB or ServerInfo > 4 KiB, skipped
    std::uint64_t unknown_frames = 0;    // skipped (derp_client.go: default: continue)
    std::uint64_t pings_answered = 0;
    std::uint64_t pings_sent = 0;
};

// The server sends KeepAlive every 60-65 s (derpserver keepAlive + jitter); derphttp treats
// 120 s without anything as a dead connection (derp_client.go Recv read timeout).
inline constexpr Duration kDerpDeadAfter = std::chrono::seconds(120);
// Silence after which we probe with a Ping: later than one missed keep-alive, early enough
// for the Pong to arrive before kDerpDeadAfter.
inline constexpr Duration kDerpPingAfterIdle = std::chrono::seconds(70);

class DerpClientSession {
public:
    // `rng` must outlive the session (ClientInfo nonce, ping data). `now` starts the liveness
    // clock. is_home: send NotePreferred(1) right after ClientInfo.
    DerpClientSession(const crypto::PrivateKey& node_key, Rng& rng, bool is_home, Instant now);

    // Feeds server bytes (any split). Frames we send in reply are appended to `out`, events
    // to `events`. A protocol violation (bad greeting, frame > 1 MiB, ServerInfo that does
    // not open) returns an error and the session is failed: close the connection.
    Status on_bytes(Instant now, ByteView in, Bytes& out, std::vector<DerpEvent>& events);
    // kUnreachable before kConnected, kClosed when failed/dead, kInvalidArgument > 64 KiB.
    Status send_packet(const crypto::PublicKey& dst, ByteView packet, Bytes& out);
    // Remembered; written now if connected, else right after ClientInfo.
    void note_preferred(bool preferred, Bytes& out);
    // An explicit liveness/RTT probe (one outstanding at a time; ignored if not connected).
    void send_ping(Instant now, Bytes& out);

    Instant next_deadline() const;
    void on_timer(Instant now, Bytes& out, std::vector<DerpEvent>& events);

    bool is_connected() const { return state_ == State::kConnected; }
    bool is_dead() const { return state_ == State::kDead || state_ == State::kFailed; }
    const crypto::PublicKey& server_key() const { return server_key_; }
    const DerpStats& stats() const { return stats_; }

private:
    enum class State { kAwaitServerKey, kConnected, kFailed, kDead };
    Status on_frame(std::uint8_t type, ByteView payload, bool truncated, Instant now, Bytes& out,
                    std::vector<DerpEvent>& events);
    Status on_server_key(ByteView payload, bool truncated, Bytes& out,
                         std::vector<DerpEvent>& events);
    void on_pong(ByteView payload, Instant now, std::vector<DerpEvent>& events);
    Status begin_frame(Instant now, Bytes& out, std::vector<DerpEvent>& events);
    Status finish_frame(ByteView payload, Instant now, Bytes& out, std::vector<DerpEvent>& events);
    Status fail_session(Errc code, const char* what);

    crypto::PrivateKey node_key_;
    crypto::PublicKey server_key_;
    Rng& rng_;
    bool is_home_;
    State state_ = State::kAwaitServerKey;
    Instant last_rx_;
    bool ping_outstanding_ = false;
    Instant ping_sent_at_{};
    derp::PingData ping_data_{};
    // Frame reassembly: header, then up to keep_ payload bytes, then skip_ bytes discarded.
    std::array<std::uint8_t, derp::kFrameHeaderLen> header_{};
    std::size_t header_len_ = 0;
    derp::FrameHeader frame_{};
    std::size_t keep_ = 0;
    std::size_t skip_ = 0;
    Bytes payload_;  // at most kKeyLen + kMaxPacketLen bytes
    DerpStats stats_;
};

}  // namespace tunless::tailnet
