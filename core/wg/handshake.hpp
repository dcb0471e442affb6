// Noise_IKpsk2 handshake messages of WireGuard (paper §5.4.2-§5.4.5): create/consume an
// initiation, create/consume a response, derive the session keys. Pure state transitions on a
// per-peer Handshake; MACs (cookie.cpp), indices, timers and sending are the device's job.
// Called by wg::Device only.
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/bytes.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/crypto/tai64n.hpp"
#include "core/wg/messages.hpp"
#include "core/wg/noise.hpp"

namespace tunless::wg {

// The device's long-term identity.
struct StaticIdentity {
    crypto::PrivateKey private_key;
    crypto::PublicKey public_key;
    bool present = false;
};

enum class HandshakeState : std::uint8_t {
    kZeroed,
    kInitiationCreated,   // we are the initiator and wait for a response
    kInitiationConsumed,  // we are the responder and will answer
    kResponseCreated,     // responder: ready to derive keys
    kResponseConsumed,    // initiator: ready to derive keys
};

// Handshake state kept per peer. The first block changes with every handshake and is wiped by
// clear(); the second is the peer's stable configuration and replay state.
struct Handshake {
    HandshakeState state = HandshakeState::kZeroed;
    noise::SymmetricState sym;
    crypto::PrivateKey local_ephemeral;
    crypto::PublicKey remote_ephemeral;
    std::uint32_t local_index = 0;  // 0 = none (the index table never hands out 0)
    std::uint32_t remote_index = 0;

    crypto::PublicKey remote_static;
    crypto::SymmetricKey preshared_key;  // all zero when the peer has none (Noise psk = 0^32)
    crypto::SymmetricKey static_static;  // DH(our static, their static), precomputed
    bool static_static_valid = false;
    crypto::Tai64n latest_timestamp{};   // newest accepted initiation timestamp (replay guard)
    std::optional<Instant> last_initiation_consumed;  // flood guard

    // Wipes the per-handshake secrets and returns to kZeroed; local_index is left for the caller
    // to release from the index table first.
    void clear();
};

// Recomputes static_static after our private key or the peer's public key changed.
void precompute_static_static(const StaticIdentity& id, Handshake& hs);

// Initiator, message 1. Writes every field of `msg` (initiation::kSize bytes) except mac1/mac2.
// False when we have no identity or a DH yields zero (peer key of low order).
[[nodiscard]] bool create_initiation(const StaticIdentity& id, Handshake& hs, Rng& rng,
                                     const crypto::Tai64n& timestamp, std::uint32_t sender_index,
                                     MutByteView msg);

// Responder, message 1, in two steps because the peer is known only after the first:
// open_initiation_static() runs e, es, s and yields the initiator's static key;
// open_initiation_timestamp() runs ss, {t} with that peer's precomputed static-static.
struct InitiationCandidate {
    noise::SymmetricState sym;
    crypto::PublicKey remote_ephemeral;
    crypto::PublicKey remote_static;
    crypto::Tai64n timestamp{};
    std::uint32_t sender_index = 0;
};
[[nodiscard]] bool open_initiation_static(const StaticIdentity& id, const InitiationView& msg,
                                          InitiationCandidate& out);
[[nodiscard]] bool open_initiation_timestamp(const Handshake& hs, const InitiationView& msg,
                                             InitiationCandidate& c);
// Commits a verified, fresh initiation (the caller checked replay and flood).
void accept_initiation(Handshake& hs, InitiationCandidate& c, Instant now);

// Responder, message 2 (state kInitiationConsumed). Writes all but mac1/mac2.
[[nodiscard]] bool create_response(Handshake& hs, Rng& rng, std::uint32_t sender_index,
                                   MutByteView msg);
// Initiator, message 2 (state kInitiationCreated); commits only on success.
[[nodiscard]] bool consume_response(const StaticIdentity& id, Handshake& hs,
                                    const ResponseView& msg);

struct SessionKeys {
    crypto::SymmetricKey send;
    crypto::SymmetricKey recv;
    bool initiator = false;
    std::uint32_t local_index = 0;
    std::uint32_t remote_index = 0;
};
// Paper §5.4.5: (T_send, T_recv) = KDF2(C, ε), swapped for the responder. Valid in states
// kResponseConsumed / kResponseCreated; clears the handshake (local_index moves to the keys).
[[nodiscard]] bool derive_session(Handshake& hs, SessionKeys& out);

}  // namespace tunless::wg
