// wg::Device: the sans-IO WireGuard protocol engine and the only API the daemon uses.
// It owns the static identity, peers, index table, allowed IPs (cryptokey routing), cookie
// checker and rate limiters. Three inputs (a datagram arrived, an IP packet must go out, time
// passed) each take `now` and append their results to a caller-owned Outbox. No sockets,
// clocks, threads or logging; randomness through the injected Rng. Single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/crypto/tai64n.hpp"
#include "core/wg/allowed_ips.hpp"
#include "core/wg/cookie.hpp"
#include "core/wg/drop_reason.hpp"
#include "core/wg/handshake.hpp"
#include "core/wg/index_table.hpp"
#include "core/wg/limits.hpp"
#include "core/wg/outbox.hpp"
#include "core/wg/peer_id.hpp"
#include "core/wg/rate_limiter.hpp"
#include "core/wg/timers.hpp"

namespace tunless::wg {

struct Peer;
struct Keypair;
class TransportView;
class InitiationView;
class ResponseView;
class CookieReplyView;

struct PeerConfig {
    crypto::PublicKey public_key;
    std::optional<crypto::SymmetricKey> preshared_key;  // nullopt or all-zero: none
    std::vector<IpPrefix> allowed_ips;
    Endpoint endpoint;  // Kind::kNone: unknown until the peer's first authenticated packet
    std::uint16_t persistent_keepalive_s = 0;  // 0 = off
};

struct PeerStatus {
    PeerId id = kNoPeer;
    crypto::PublicKey public_key;
    Endpoint endpoint;
    std::vector<IpPrefix> allowed_ips;  // as owned in the routing table now
    std::uint16_t persistent_keepalive_s = 0;
    std::optional<WallTime> last_handshake;  // wall time the last handshake completed
    std::uint64_t rx_bytes = 0;  // wire bytes, like `wg show transfer`
    std::uint64_t tx_bytes = 0;
    bool has_preshared_key = false;
    bool has_session = false;  // a current keypair that may still send (not expired)
    std::uint32_t handshake_retries = 0;  // retransmissions of the unanswered initiation
};

struct DeviceStats {
    DropCounters drops{};
    std::uint64_t handshakes_initiated = 0;  // initiations sent (incl. retransmissions)
    std::uint64_t handshakes_completed = 0;
    std::uint64_t cookie_replies_sent = 0;
    std::uint64_t drop(DropReason r) const { return drops[static_cast<std::size_t>(r)]; }
};

class Device {
public:
    // `rng` and `wall` must outlive the device. `wall` is read only for TAI64N handshake
    // timestamps and the "last handshake" wall time.
    Device(Rng& rng, WallClock& wall);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    // ---- configuration ------------------------------------------------------------------
    // Like `wg set private-key`: a no-op for the same key; otherwise recomputes every
    // static-static secret, stops current sessions from sending (the next packet starts a
    // handshake) and removes a peer whose public key equals our new public key.
    void set_private_key(const crypto::PrivateKey& key);
    bool has_private_key() const { return identity_.present; }
    const crypto::PublicKey& public_key() const { return identity_.public_key; }
    // Inner MTU used to cap padding (default kDefaultMtu).
    void set_mtu(std::uint16_t mtu) { mtu_ = mtu; }

    // kInvalidArgument (zero key or our own key), kAlreadyExists, kLimitReached.
    Result<PeerId> add_peer(const PeerConfig& cfg);
    // Same public key required (kInvalidArgument). Sessions survive changes of endpoint
    // (an unset endpoint keeps the current one), allowed IPs and keepalive; a changed preshared
    // key drops the handshake in progress (existing keypairs run until rekey).
    Status update_peer(PeerId id, const PeerConfig& cfg);
    // Wipes the peer's keys, frees its indices and routes, drops its staged packets.
    Status remove_peer(const crypto::PublicKey& key);
    Status remove_peer(PeerId id);
    std::optional<PeerId> find_peer(const crypto::PublicKey& key) const;

    // Clock-reset safety: the TAI64N we send is max(wall clock, last sent + 1 tick). The
    // daemon persists last_sent_timestamp() and restores it with set_timestamp_floor() after a
    // reboot, so peers accept us even when the clock restarts at 1970.
    crypto::Tai64n last_sent_timestamp() const { return last_sent_timestamp_; }
    void set_timestamp_floor(const crypto::Tai64n& floor);

    // Force the cookie mechanism on/off (nullopt: automatic, see limits.hpp).
    void set_under_load_override(std::optional<bool> forced) { load_.set_override(forced); }

    // ---- traffic and time -----------------------------------------------------------------
    // A UDP payload (or relay frame) from `from`.
    void on_datagram(Instant now, const Endpoint& from, ByteView datagram, Outbox& out);
    // An IP packet from the local stack: encrypted for the peer owning its destination, or
    // staged while a handshake runs.
    void on_ip_packet(Instant now, ByteView ip_packet, Outbox& out);
    // Runs every timer due at `now`. Call when now >= next_deadline().
    void on_timer(Instant now, Outbox& out);
    // Earliest time on_timer() has work: never late, may be early or already in the past
    // (then call on_timer() right away); kNever if nothing is pending.
    Instant next_deadline() const { return hint_.earliest; }
    // Start a handshake now, bypassing the REKEY_TIMEOUT rate limit.
    Status initiate(Instant now, PeerId id, Outbox& out);

    // ---- introspection ----------------------------------------------------------------------
    std::vector<PeerId> peer_ids() const;
    std::optional<PeerStatus> peer_status(PeerId id) const;
    std::size_t peer_count() const { return by_key_.size(); }
    const DeviceStats& stats() const { return stats_; }

    // The configured secrets, for the UAPI `get` (`wg showconf`) only; never log them.
    // nullptr when no private key is set; nullopt for an unknown peer or one without a PSK.
    const crypto::PrivateKey* private_key() const {
        return identity_.present ? &identity_.private_key : nullptr;
    }
    std::optional<crypto::SymmetricKey> preshared_key(PeerId id) const;

private:
    struct KeyHash {
        std::size_t operator()(const crypto::PublicKey& k) const noexcept;
    };

    // device.cpp
    Peer* peer_ptr(PeerId id) const;
    Peer* peer_by_key(const crypto::PublicKey& key) const;
    void remove_peer_internal(Peer& p);
    void release_handshake_index(Peer& p);
    void release_indices(const ReleasedIndices& r);
    void zero_key_material(Peer& p);
    void drop(DropReason r, std::uint64_t n = 1) { stats_.drops[static_cast<std::size_t>(r)] += n; }

    // device_receive.cpp
    bool check_handshake_macs(Instant now, const Endpoint& from, ByteView msg,
                              std::uint32_t sender, Outbox& out);
    void receive_initiation(Instant now, const Endpoint& from, const InitiationView& m,
                            Outbox& out);
    void receive_response(Instant now, const Endpoint& from, const ResponseView& m, Outbox& out);
    void receive_cookie_reply(Instant now, const CookieReplyView& m);
    void receive_transport(Instant now, const Endpoint& from, const TransportView& m,
                           Outbox& out);
    Keypair* open_transport(Instant now, const TransportView& m, Peer*& peer, MutByteView& plain,
                            Outbox& out);
    void deliver_inner(Peer& p, ByteView plain, Outbox& out);
    void update_endpoint(Peer& p, const Endpoint& from, Outbox& out);
    void handshake_complete(Instant now, Peer& p, Outbox& out);

    // device_send.cpp
    void send_initiation(Instant now, Peer& p, Outbox& out, bool is_retry);
    void send_response(Instant now, Peer& p, Outbox& out);
    void install_session(Instant now, Peer& p);
    void send_keepalive(Instant now, Peer& p, Outbox& out);
    void send_staged(Instant now, Peer& p, Outbox& out);
    bool encrypt_to_outbox(Peer& p, Keypair& kp, ByteView packet, Outbox& out);
    void after_data_sent(Instant now, Peer& p, bool data, Outbox& out);
    void send_handshake_message(Peer& p, ByteView msg, Outbox& out);
    void run_timers(Instant now, Peer& p, Outbox& out);
    crypto::Tai64n next_timestamp();

    Rng& rng_;
    WallClock& wall_;
    StaticIdentity identity_;
    CookieChecker cookie_checker_;
    UnderLoadDetector load_;
    SourceRateLimiter source_limiter_;
    IndexTable indices_;
    AllowedIps allowed_ips_;
    DeadlineHint hint_;
    std::vector<std::unique_ptr<Peer>> peers_;  // slot = id & kSlotMask
    std::vector<std::uint16_t> generations_;    // per slot, so ids are not reused soon
    std::vector<std::uint32_t> free_slots_;
    std::unordered_map<crypto::PublicKey, PeerId, KeyHash> by_key_;
    DeviceStats stats_;
    crypto::Tai64n last_sent_timestamp_{};
    std::uint16_t mtu_ = kDefaultMtu;
};

}  // namespace tunless::wg
