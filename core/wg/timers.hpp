// Per-peer protocol timers as timestamps (paper §6; kernel timers.h/.c, boringtun timers.rs).
// The device reports protocol events through the on_*() hooks; expire(now) says what is due.
// Every timer rule lives in timers.cpp (see its top comment). No clock reads, no callbacks.
#pragma once

#include <cstdint>

#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/wg/keypair.hpp"

namespace tunless::wg {

// The device-wide "earliest deadline" lower bound: every armed timer lowers it, so
// Device::next_deadline() is O(1); on_timer() recomputes it exactly.
struct DeadlineHint {
    Instant earliest = kNever;
    void note(Instant t) {
        if (t < earliest) earliest = t;
    }
};

// What expire() found due; the device performs these in this order.
enum TimerAction : std::uint32_t {
    kActionNone = 0,
    kActionZeroKeyMaterial = 1u << 0,    // wipe handshake and keypairs
    kActionSessionExpired = 1u << 1,     // current keypair reached REJECT_AFTER_TIME (event)
    kActionGiveUp = 1u << 2,             // handshake retries exhausted: purge staged packets
    kActionRetransmitHandshake = 1u << 3,
    kActionNewHandshake = 1u << 4,       // sent data, heard nothing back
    kActionSendKeepalive = 1u << 5,
    kActionPersistentKeepalive = 1u << 6,
    kActionFlushStaged = 1u << 7,        // staged packets left over when an Outbox was full
};

class PeerTimers {
public:
    explicit PeerTimers(DeadlineHint& hint) : hint_(&hint) {}

    // 0 disables persistent keepalive. A newly enabled interval fires at the next on_timer()
    // (wg sends a keepalive right away when the option is set).
    void set_persistent_keepalive(std::uint16_t seconds);
    std::uint16_t persistent_keepalive() const { return persistent_keepalive_s_; }

    // ---- event hooks: call each right after the named event ---------------------------------
    void on_data_sent(Instant now);
    void on_data_received(Instant now);
    void on_any_authenticated_packet_sent(Instant now);
    void on_any_authenticated_packet_received(Instant now);
    void on_any_authenticated_packet_traversal(Instant now);
    void on_handshake_initiated(Instant now, Rng& rng);
    void on_handshake_complete(Instant now);
    void on_session_derived(Instant now, Rng& rng);
    // The current keypair changed (install/confirm/clear); nullptr when none is left.
    void on_current_keypair_changed(const Keypair* current);
    // Any handshake message (initiation or response) left us.
    void on_handshake_message_sent(Instant now) { last_handshake_sent_ = now; has_sent_ = true; }
    // Staged packets remain because the Outbox was full.
    void on_flush_deferred(Instant now);
    // The keepalive owed by kActionSendKeepalive went out (re-arms if another is owed; must
    // come after the send, which disarms the keepalive timer).
    void on_expired_keepalive_sent(Instant now);

    // ---- rules the device asks about --------------------------------------------------------
    // REKEY_TIMEOUT between our own handshake messages (kernel last_sent_handshake).
    bool may_send_initiation(Instant now) const;
    // The next initiation starts a new attempt series (not a retransmission).
    void reset_attempts() { handshake_attempts_ = 0; }
    // Allow an initiation right away (after our key changed, or for a forced handshake).
    void clear_initiation_rate_limit() { has_sent_ = false; }
    // Rekey the current keypair? (paper §6.2, kernel keep_key_fresh in send.c / receive.c)
    bool want_rekey_after_send(const Keypair* current, Instant now) const;
    bool want_rekey_after_receive(const Keypair* current, Instant now);

    // ---- expiry -----------------------------------------------------------------------------
    // Disarms and returns every timer due at `now` (bitmask of TimerAction).
    std::uint32_t expire(Instant now);
    Instant next_deadline() const;
    // Peer removed or keys zeroed: disarm everything except persistent keepalive.
    void stop_session_timers();
    std::uint32_t handshake_attempts() const { return handshake_attempts_; }
    // The current keypair reached REJECT_AFTER_TIME (until the next keypair change).
    bool session_expired() const { return session_expired_; }

private:
    void arm(Instant& timer, Instant at);

    DeadlineHint* hint_;
    Instant retransmit_handshake_ = kNever;
    Instant send_keepalive_ = kNever;
    Instant new_handshake_ = kNever;
    Instant zero_key_material_ = kNever;
    Instant persistent_keepalive_ = kNever;
    Instant session_expiry_ = kNever;
    Instant flush_staged_ = kNever;
    Instant last_handshake_sent_{};
    bool has_sent_ = false;
    std::uint32_t handshake_attempts_ = 0;
    bool need_another_keepalive_ = false;
    bool sent_lastminute_handshake_ = false;
    bool session_expired_ = false;
    std::uint16_t persistent_keepalive_s_ = 0;
    Duration data_sent_jitter_{};  // drawn per session: no Rng call per sent packet
};

// A keypair may encrypt: younger than REJECT_AFTER_TIME and counter below
// REJECT_AFTER_MESSAGES (paper §6.1).
bool keypair_can_send(const Keypair& kp, Instant now);
// A keypair may decrypt: younger than REJECT_AFTER_TIME.
bool keypair_can_receive(const Keypair& kp, Instant now);

}  // namespace tunless::wg
