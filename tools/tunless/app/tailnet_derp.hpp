// DerpRelay: the DERP transport of a tailnet node (tailscale wgengine/magicsock/derp.go plus
// derp/derphttp/derphttp_client.go). One TLS connection per region in use: a permanent one to
// the home region (NotePreferred(1)), lazy ones to peers' home regions that close after 60 s
// without sends. Each is an io::ClientStream, an HTTP/1.1 `GET /derp` upgrade and a
// tailnet::DerpClientSession. Called by the tailnet node wiring, which routes the packets.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/tailnet/tailcfg.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

namespace tunless::app {

class DerpRegionConn;

class DerpRelayHandler {
public:
    // WireGuard or disco bytes from peer `src` (its node key), valid during the call only.
    virtual void on_relay_packet(std::uint16_t region, const crypto::PublicKey& src,
                                 ByteView packet) = 0;
    // A region's connection came up (logged in) or went away (`detail` says why).
    virtual void on_relay_state(std::uint16_t region, bool connected,
                                const std::string& detail) = 0;
    virtual ~DerpRelayHandler() = default;
};

// magicsock derp.go: derpInactiveCleanupTime, and the per-connection write queue depth.
inline constexpr Duration kDerpIdleClose = std::chrono::seconds(60);
inline constexpr std::size_t kDerpMaxQueued = 32;
// Reconnect backoff (jittered: each delay is between half and all of the step).
inline constexpr Duration kDerpBackoffMin = std::chrono::seconds(1);
inline constexpr Duration kDerpBackoffMax = std::chrono::seconds(30);
// Connect + TLS + 101 + ServerKey together; the server allows 10 s for its side.
inline constexpr Duration kDerpHandshakeTimeout = std::chrono::seconds(20);
// Consecutive failed attempts on one node (address) before the next one of the region is tried.
inline constexpr std::uint32_t kDerpFailuresPerNode = 2;

// The timings above; tests shorten them.
struct DerpRelayOptions {
    Duration idle_close = kDerpIdleClose;
    std::size_t max_queued = kDerpMaxQueued;
    Duration backoff_min = kDerpBackoffMin;
    Duration backoff_max = kDerpBackoffMax;
    Duration handshake_timeout = kDerpHandshakeTimeout;
};

// Everything runs on the loop thread. Handler callbacks may call back into the relay (send,
// set_derp_map, ...), but must not destroy it.
class DerpRelay final : private io::DeadlineProvider {
public:
    // `ca_file`: PEM roots for the DERP servers' certificates; empty = system bundle.
    // `loop`, `resolver`, `rng` and `handler` must outlive the relay.
    DerpRelay(io::EventLoop& loop, io::HostResolver& resolver, Rng& rng, std::string ca_file,
              DerpRelayHandler& handler, DerpRelayOptions options = {});
    ~DerpRelay() override;
    DerpRelay(const DerpRelay&) = delete;
    DerpRelay& operator=(const DerpRelay&) = delete;

    // Our DERP identity (the node key). Nothing connects before it is set; a change
    // reconnects every open connection.
    void set_node_key(const crypto::PrivateKey& key);
    // Removed regions are closed, changed ones reconnect, the home region connects once present.
    void set_derp_map(const tailnet::DERPMap& map);
    // 0 = none. The old home gets NotePreferred(0) and then idles out like any other region.
    void set_home_region(std::uint16_t region);
    std::uint16_t home_region() const { return home_; }

    // One datagram to peer `dst` through `region`. Connects lazily; until logged in, up to
    // options.max_queued (32) datagrams wait (oldest dropped). A full send buffer drops the
    // datagram (counted): WireGuard tolerates loss. Never blocks.
    void send(std::uint16_t region, const crypto::PublicKey& dst, ByteView packet);

    struct RegionStatus {
        std::uint16_t region = 0;
        std::string code;
        bool connected = false;
        bool home = false;
        std::optional<Duration> rtt;  // last DERP Ping/Pong round trip
        std::uint64_t packets_in = 0;
        std::uint64_t packets_out = 0;
        std::uint64_t drops = 0;  // queue overflow, full send buffer, oversize
        std::uint64_t reconnects = 0;
        std::string last_error;
    };
    // One entry per region with a connection (or one being retried), in region order.
    std::vector<RegionStatus> status() const;
    // Sends to regions missing from the DERP map (or before it arrived).
    std::uint64_t unroutable_drops() const { return unroutable_drops_; }

private:
    friend class DerpRegionConn;

    Instant next_deadline() const override;
    void on_timer(Instant now) override;
    DerpRegionConn* ensure_conn(std::uint16_t region);
    // Closes and forgets `region`'s connection; its destruction is posted (we may be inside
    // one of its callbacks).
    void remove_conn(std::uint16_t region, const std::string& why);
    void notify_later(std::uint16_t region, bool connected, std::string detail);

    io::EventLoop& loop_;
    io::HostResolver& resolver_;
    Rng& rng_;
    std::string ca_file_;
    DerpRelayHandler& handler_;
    DerpRelayOptions options_;
    std::optional<crypto::PrivateKey> node_key_;
    tailnet::DERPMap map_;
    std::uint16_t home_ = 0;
    std::map<std::uint16_t, std::unique_ptr<DerpRegionConn>> conns_;
    std::uint64_t unroutable_drops_ = 0;
    std::shared_ptr<bool> alive_;  // posted notifications hold a weak_ptr
};

}  // namespace tunless::app
