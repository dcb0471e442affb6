// DerpRegionConn: DerpRelay's connection to one DERP region (tailscale
// derp/derphttp/derphttp_client.go): dials a node of the region over TLS, upgrades with
// `GET /derp`, runs a tailnet::DerpClientSession on the stream, queues while logging in, retries
// with backoff and rotates nodes on repeated failure. Internal to tailnet_derp.cpp; the idle
// close of non-home regions is decided here (idle_expired) and carried out by DerpRelay.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/tailnet/derp_client_session.hpp"
#include "core/tailnet/tailcfg.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/tailnet_derp.hpp"
#include "transports/client_stream.hpp"

namespace tunless::app {

// One way to reach a region: a node and the address (literal or name) to dial.
struct DerpDialTarget {
    io::ClientStreamOptions options;
    std::string host_header;
    std::string node_name;
};

// The region's non-STUNOnly nodes in map order, IPv4 literal before IPv6 literal before name.
std::vector<DerpDialTarget> derp_dial_targets(const tailnet::DERPRegion& region,
                                              const std::string& ca_file);

class DerpRegionConn final : public io::ClientStreamHandler {
public:
    // `relay` owns the connection and outlives it.
    DerpRegionConn(DerpRelay& relay, std::uint16_t region, const tailnet::DERPRegion& info,
                   Instant now);
    ~DerpRegionConn() override;
    DerpRegionConn(const DerpRegionConn&) = delete;
    DerpRegionConn& operator=(const DerpRegionConn&) = delete;

    bool logged_in() const { return session_ && session_->is_connected(); }
    const tailnet::DERPRegion& info() const { return info_; }
    // The region's nodes changed: dial the new ones.
    void set_info(const tailnet::DERPRegion& info, Instant now);
    // NotePreferred; a demoted home idles out options.idle_close from now.
    void set_home(bool home, Instant now);
    // Drops the current attempt or connection and dials again at once (new node key).
    void restart(Instant now, const char* why);
    void send(const crypto::PublicKey& dst, ByteView packet, Instant now);
    bool idle_expired(Instant now) const {
        return !home_ && now >= last_send_ + relay_.options_.idle_close;
    }
    Instant next_deadline() const;
    void on_timer(Instant now);
    // Final close (region removed, idle, relay destroyed): no retry, no callback.
    void shut();
    DerpRelay::RegionStatus status() const;

private:
    enum class Phase : std::uint8_t { kIdle, kBackoff, kConnecting, kUpgrading, kSession };
    struct Queued {
        crypto::PublicKey dst;
        Bytes packet;
    };

    void on_connected() override;
    void on_data(ByteView bytes) override;
    void on_writable() override;
    void on_closed(const Error& why) override;

    bool attempting() const;  // dialing, upgrading or waiting for ServerKey
    void start(Instant now);
    void on_upgrade_bytes(ByteView bytes, Instant now);
    void feed(ByteView bytes, Instant now);
    void dispatch(std::vector<tailnet::DerpEvent>& events, Instant now);
    void on_logged_in(Instant now);
    void on_health(const std::string& text);
    void write_control(const Bytes& out);
    void write_packet(const crypto::PublicKey& dst, ByteView packet, Instant now);
    void drop(Instant now, const char* why);
    void fail(Instant now, const Error& why);
    Duration schedule_retry(Instant now, bool was_up);
    void teardown();

    DerpRelay& relay_;
    std::uint16_t region_;
    tailnet::DERPRegion info_;
    std::vector<DerpDialTarget> targets_;
    std::size_t target_ = 0;
    std::uint32_t failures_ = 0;  // consecutive, on the current target
    bool home_ = false;
    Phase phase_ = Phase::kIdle;
    std::unique_ptr<io::ClientStream> stream_;
    std::optional<tailnet::DerpClientSession> session_;
    std::uint64_t generation_ = 0;  // bumped by teardown: stale callbacks stop
    Bytes head_;                    // HTTP response head, bounded by parse_response_head
    Bytes ctrl_pending_;            // refused control frames, bounded by kMaxFrameLen
    Bytes scratch_;
    std::deque<Queued> queue_;  // at most options.max_queued
    Instant last_send_;
    Instant attempt_deadline_{};
    Instant retry_at_{};
    Duration backoff_ = relay_.options_.backoff_min;
    std::optional<Duration> restart_hint_;
    std::string health_;
    std::optional<Duration> rtt_;
    std::uint64_t attempts_ = 0;
    std::uint64_t packets_in_ = 0;
    std::uint64_t packets_out_ = 0;
    std::uint64_t drops_ = 0;
    std::uint64_t reconnects_ = 0;
    std::string last_error_;
    log::RateLimit drop_log_{5, std::chrono::seconds(10)};
};

}  // namespace tunless::app
