// Internal per-peer state of wg::Device: identity and handshake, cookie generator, keypairs,
// timers, staged packets, endpoint and counters. A plain aggregate the device's .cpp files
// operate on; not part of the public API (use Device::peer_status()).
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/ip_address.hpp"
#include "core/base/time.hpp"
#include "core/wg/cookie.hpp"
#include "core/wg/handshake.hpp"
#include "core/wg/keypair.hpp"
#include "core/wg/outbox.hpp"
#include "core/wg/peer_id.hpp"
#include "core/wg/staged_queue.hpp"
#include "core/wg/timers.hpp"

namespace tunless::wg {

struct Peer {
    explicit Peer(DeadlineHint& hint) : timers(hint) {}

    PeerId id = kNoPeer;
    Endpoint endpoint;
    bool has_psk = false;
    Handshake handshake;  // handshake.remote_static is the peer's public key
    CookieGenerator cookie;
    Keypairs keypairs;
    PeerTimers timers;
    StagedQueue staged;
    std::uint64_t rx_bytes = 0;  // wire bytes of authenticated messages, like wg
    std::uint64_t tx_bytes = 0;
    std::optional<WallTime> last_handshake;

    const crypto::PublicKey& public_key() const { return handshake.remote_static; }
};

}  // namespace tunless::wg
