// Endpoint re-resolution for peers configured with a host name (Endpoint = name:port), the
// wg-quick reresolve-dns.sh idea done inside the daemon: a peer whose handshakes go unanswered
// (retransmissions, gave up, no session) has its name looked up again without blocking the
// loop, and the device endpoint is updated (wg::Device::update_peer keeps sessions) when the
// name now points elsewhere. A local network change (netlink) re-resolves every such peer.
// Not a DNS client: lookups go through HostLookup (io::HostResolver). Used by Node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "core/config/config.hpp"
#include "core/wg/device.hpp"
#include "transports/event_loop.hpp"
#include "transports/host_resolver.hpp"

namespace tunless::app {

// Asynchronous name -> addresses. The callback runs later on the loop thread, never inside
// start(); it does not run once the HostLookup is destroyed.
class HostLookup {
public:
    using Callback = std::function<void(Result<std::vector<IpAddress>>)>;
    virtual ~HostLookup() = default;
    virtual void start(const std::string& host, Callback cb) = 0;
};

// The system resolver (io::HostResolver: getaddrinfo_a, polled every kPollInterval while
// lookups are pending). At most kMaxPending lookups (more: kLimitReached), each abandoned after
// kTimeout.
class GaiHostLookup final : public HostLookup {
public:
    static constexpr Duration kPollInterval = std::chrono::milliseconds(100);
    static constexpr Duration kTimeout = std::chrono::seconds(10);
    static constexpr std::size_t kMaxPending = 16;

    explicit GaiHostLookup(io::EventLoop& loop)
        : resolver_(loop, {.poll_interval = kPollInterval,
                           .timeout = kTimeout,
                           .max_in_flight = kMaxPending}) {}
    void start(const std::string& host, Callback cb) override {
        (void)resolver_.submit(host, {.socket_type = io::HostSocketType::kDatagram},
                               std::move(cb));
    }

private:
    io::HostResolver resolver_;
};

// When a peer with a host name counts as failing, and how often it is looked up again.
inline constexpr std::uint32_t kRefreshAfterRetries = 3;  // ~15 s of unanswered initiations
inline constexpr Duration kRefreshMinInterval = std::chrono::seconds(30);
inline constexpr Duration kRefreshMaxInterval = std::chrono::minutes(5);
inline constexpr Duration kRefreshCheckInterval = std::chrono::seconds(5);

class EndpointRefresher {
public:
    EndpointRefresher(wg::Device& device, std::unique_ptr<HostLookup> lookup);

    // The peers to watch: those of `config` whose Endpoint is a host name (after a reload too).
    void set_peers(const cfg::Config& config);
    // Called after a peer's endpoint was changed (the Node starts a handshake there at once).
    void set_on_update(std::function<void(wg::PeerId)> fn) { on_update_ = std::move(fn); }
    // Every kRefreshCheckInterval: looks up failing peers (backoff kRefreshMinInterval,
    // doubling up to kRefreshMaxInterval while they keep failing).
    void tick(Instant now);
    // kHandshakeGaveUp: look that peer up now.
    void on_event(Instant now, const wg::Event& e);
    // Local network changed: look every watched peer up now.
    void refresh_all(Instant now, const char* why);

    std::size_t watched() const { return peers_.size(); }
    std::uint64_t lookups() const { return lookups_; }
    std::uint64_t updates() const { return updates_; }

private:
    struct Watched {
        crypto::PublicKey key;
        std::string host;
        std::uint16_t port = 0;
        Instant next_allowed{};
        Duration backoff = kRefreshMinInterval;
        bool in_flight = false;
    };
    void refresh(Watched& w, Instant now, const char* why);
    void apply(const crypto::PublicKey& key, Result<std::vector<IpAddress>> addrs);
    Watched* find(const crypto::PublicKey& key);

    wg::Device& device_;
    std::vector<Watched> peers_;
    std::uint64_t lookups_ = 0;
    std::uint64_t updates_ = 0;
    std::function<void(wg::PeerId)> on_update_;
    std::unique_ptr<HostLookup> lookup_;  // last: destroyed first, so no callback outlives us
};

// True when `status` shows a peer whose handshakes go unanswered.
bool peer_is_failing(const wg::PeerStatus& status);

}  // namespace tunless::app
