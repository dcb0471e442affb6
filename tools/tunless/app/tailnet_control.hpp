// ControlClient: keeps a tailnet node connected to its control server. Fetches the server's
// Noise key (`GET /key`, unless [Tailnet] ControlKey pins it), opens the ts2021 connection
// (io::ClientStream, TLS for https), runs a tailnet::ControlSession on it, folds every
// MapResponse into the NetMap it owns and tells the node what changed. Any error ends the
// connection; it reconnects with jittered exponential backoff (tailscale
// control/controlclient/auto.go mapRoutine). Owned by the tailnet node wiring; loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/config/config.hpp"
#include "core/tailnet/control_session.hpp"
#include "core/tailnet/netmap.hpp"
#include "tools/tunless/app/tailnet_keys.hpp"
#include "transports/client_stream.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

namespace tunless::app {

enum class ControlState { kConnecting, kNeedsLogin, kRunning, kBackoff };
const char* control_state_name(ControlState state);  // "connecting", "needs-login", ...

// Callbacks run on the loop thread from inside ControlClient; they must not destroy it. They
// may call set_preferred_derp/set_endpoints (sent once the current callback chain is done).
class ControlClientHandler {
public:
    // detail: the login URL for kNeedsLogin, the error text for kBackoff, else "".
    virtual void on_control_state(ControlState state, const std::string& detail) = 0;
    // After each applied MapResponse that changed something (a reconnect's first map is
    // diffed against the previous one, so `delta` is always relative to the last call).
    virtual void on_netmap(const tailnet::NetMap& map, const tailnet::NetMapDelta& delta) = 0;
    // The node key was rotated (NodeKeyExpired): the WireGuard device must use
    // keys.node_private() from now on.
    virtual void on_node_key_changed() = 0;
    virtual ~ControlClientHandler() = default;
};

struct ControlClientOptions {
    cfg::TailnetConfig config;  // URL, CAFile, ControlKey pin, Hostname, Ephemeral
    std::string auth_key;       // resolved from config (app::read_auth_key); empty = interactive
    std::string hostname;       // resolved default (gethostname first label) if config empty
    std::string ipn_version;    // e.g. "tunless-0.1.0"
    // Reconnect delays: initial, doubled per failure up to max, each +-25 % jitter. auto.go
    // caps at 30 s; the count restarts once a map poll has run for backoff_reset_after.
    Duration backoff_initial = std::chrono::seconds(1);
    Duration backoff_max = std::chrono::seconds(30);
    Duration backoff_reset_after = std::chrono::seconds(10);
    Duration key_fetch_timeout = std::chrono::seconds(15);  // GET /key, connect included
    Duration connect_timeout = std::chrono::seconds(15);    // TCP + TLS of the ts2021 stream
};

// For `tunless status`.
struct ControlStatus {
    std::string control_url;
    ControlState state = ControlState::kConnecting;
    std::string detail;
    std::string login_name;           // User/Login name from the last registration
    std::optional<Instant> last_map;  // last MapResponse (keep-alives too)
    std::uint64_t reconnects = 0;     // connections that ended in an error
    std::uint64_t map_messages = 0;   // over all connections
};

class ControlClient final : private io::DeadlineProvider {
public:
    // `loop`, `resolver`, `rng`, `keys` and `handler` must outlive the client.
    ControlClient(io::EventLoop& loop, io::HostResolver& resolver, Rng& rng, TailnetKeys& keys,
                  ControlClientOptions options, ControlClientHandler& handler);
    ~ControlClient() override;
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // Begins connecting in the next loop round. Idempotent.
    void start();
    // Our home DERP region (Hostinfo.NetInfo.PreferredDERP, how peers learn where to reach
    // us): a lite update when it changes while the map poll runs, and in later map requests.
    void set_preferred_derp(int region);
    // Our UDP endpoints ("ip:port" / "[v6]:port"; others are skipped): lite update on change.
    void set_endpoints(std::vector<std::string> endpoints);

    // Our node key's KeyExpiry passed while connected: control tells only the peers (headscale
    // NotifyWithIgnore), so the node reconnects itself; registering the expired key gets
    // NodeKeyExpired, which rotates it (and needs the auth key or a new login).
    void node_key_expired();

    ControlState state() const { return state_; }
    const tailnet::NetMap& netmap() const { return netmap_; }
    ControlStatus status() const;

private:
    class KeyFetch;    // GET /key on its own short connection
    class Connection;  // the ts2021 stream + its ControlSession

    Instant next_deadline() const override;
    void on_timer(Instant now) override;

    void begin_attempt(Instant now);
    void connect_control(Instant now);
    void on_key_fetched(Result<crypto::PublicKey> key);
    void on_session_events(std::vector<tailnet::ControlEvent>& events);
    void on_map(tailnet::MapResponse& map, bool first_in_stream);
    void rotate_node_key();
    void fail_attempt(const Error& why);
    void retry_now();
    void retire_connections();
    void set_state(ControlState state, const std::string& detail);
    void send_pending_lite_update();
    tailnet::Hostinfo hostinfo() const;
    io::ClientStreamOptions stream_options(Duration timeout) const;

    io::EventLoop& loop_;
    io::HostResolver& resolver_;
    Rng& rng_;
    TailnetKeys& keys_;
    ControlClientOptions options_;
    ControlClientHandler& handler_;
    std::string host_header_;  // "host[:port]" for Host and :authority

    bool started_ = false;
    ControlState state_ = ControlState::kConnecting;
    std::string detail_;
    Instant attempt_at_ = kNever;
    Instant key_deadline_ = kNever;
    std::unique_ptr<KeyFetch> key_fetch_;
    std::unique_ptr<Connection> conn_;
    // Closed connections wait here until on_timer: never destroyed inside their callbacks.
    std::vector<std::unique_ptr<KeyFetch>> dead_fetches_;
    std::vector<std::unique_ptr<Connection>> dead_conns_;
    std::optional<crypto::PublicKey> control_key_;  // pinned, or fetched (dropped on failure)
    std::uint32_t failures_ = 0;                    // consecutive, for the backoff
    bool rotated_this_attempt_ = false;
    std::optional<Instant> running_since_;

    tailnet::NetMap netmap_;
    int preferred_derp_ = 0;
    std::vector<Endpoint> endpoints_;
    bool lite_pending_ = false;
    int dispatch_depth_ = 0;  // > 0 while handler callbacks run

    std::string login_name_;
    std::optional<Instant> last_map_;
    std::uint64_t reconnects_ = 0;
    std::uint64_t map_messages_ = 0;
};

}  // namespace tunless::app
