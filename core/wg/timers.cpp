// Every WireGuard timer rule, in one place (paper §6; kernel timers.c; wireguard-go timers.go).
// Timers are timestamps (kNever = disarmed); expire(now) disarms what is due and tells the
// device what to do. Jitter comes from the injected Rng.
//
//  - Retransmit handshake: armed when an initiation is sent, at REKEY_TIMEOUT (5 s) + jitter
//    uniform in [0, 334) ms. On expiry the initiation is resent with a new ephemeral key, up to
//    MAX_TIMER_HANDSHAKES (18) retries, i.e. for REKEY_ATTEMPT_TIME (90 s); then we give up:
//    staged packets are dropped, the keepalive timer is disarmed and the zero-key timer armed.
//    Disarmed when a handshake completes (response consumed, or first data on the responder's
//    new keypair).
//  - Our own initiations are at least REKEY_TIMEOUT apart (kernel last_sent_handshake); a
//    handshake response we send counts as a handshake message for this rule too.
//  - Send keepalive: armed when authenticated data is received, at KEEPALIVE_TIMEOUT (10 s),
//    unless already armed (then one more keepalive is owed after it fires). Disarmed when any
//    authenticated packet is sent. On expiry an empty data packet is sent.
//  - New handshake: armed when data is sent, at KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter
//    (15 s + [0, 334) ms; the jitter is drawn per session, not per packet), unless already
//    armed. Disarmed when any authenticated packet is received. On expiry: new initiation.
//  - Zero key material: armed when a session is derived (and after giving up), at
//    3 * REJECT_AFTER_TIME (540 s). On expiry the handshake state and every keypair are wiped.
//  - Persistent keepalive: if configured, re-armed at the interval whenever an authenticated
//    packet is sent or received; on expiry a keepalive is sent.
//  - Session expiry: at current keypair creation + REJECT_AFTER_TIME (180 s) the session can no
//    longer send or receive; the device reports kSessionExpired. New packets then stage and
//    start a handshake.
//  - Rekey on send: after sending, if the current keypair has sent more than
//    REKEY_AFTER_MESSAGES (2^60), or we initiated it and it is REKEY_AFTER_TIME (120 s) old.
//  - Rekey on receive: after receiving, if we initiated the current keypair and it is
//    REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (165 s) old; once per session.
//  - A keypair encrypts while younger than REJECT_AFTER_TIME and below REJECT_AFTER_MESSAGES
//    (2^64 - 2^13 - 1); it decrypts while younger than REJECT_AFTER_TIME.
//  - Flush staged: due at once when an Outbox filled up while staged packets were leaving.
#include "core/wg/timers.hpp"

#include <algorithm>

#include "core/wg/messages.hpp"

namespace tunless::wg {

namespace {

Duration jitter(Rng& rng) {
    return std::chrono::milliseconds(rng.uniform(kRekeyTimeoutJitterMaxMs));
}

bool older_than(Instant created, Instant now, Duration age) { return now - created >= age; }

}  // namespace

void PeerTimers::arm(Instant& timer, Instant at) {
    timer = at;
    hint_->note(at);
}

void PeerTimers::set_persistent_keepalive(std::uint16_t seconds) {
    const bool newly_enabled = persistent_keepalive_s_ == 0 && seconds != 0;
    persistent_keepalive_s_ = seconds;
    if (seconds == 0) {
        persistent_keepalive_ = kNever;
    } else if (newly_enabled) {
        arm(persistent_keepalive_, Instant{});  // due at the next on_timer()
    }
}

void PeerTimers::on_data_sent(Instant now) {
    if (new_handshake_ == kNever) {
        arm(new_handshake_, now + kKeepaliveTimeout + kRekeyTimeout + data_sent_jitter_);
    }
}

void PeerTimers::on_data_received(Instant now) {
    if (send_keepalive_ == kNever) {
        arm(send_keepalive_, now + kKeepaliveTimeout);
    } else {
        need_another_keepalive_ = true;
    }
}

void PeerTimers::on_any_authenticated_packet_sent(Instant) { send_keepalive_ = kNever; }

void PeerTimers::on_any_authenticated_packet_received(Instant) { new_handshake_ = kNever; }

void PeerTimers::on_any_authenticated_packet_traversal(Instant now) {
    if (persistent_keepalive_s_ != 0) {
        arm(persistent_keepalive_, now + std::chrono::seconds(persistent_keepalive_s_));
    }
}

void PeerTimers::on_handshake_initiated(Instant now, Rng& rng) {
    arm(retransmit_handshake_, now + kRekeyTimeout + jitter(rng));
}

void PeerTimers::on_handshake_complete(Instant) {
    retransmit_handshake_ = kNever;
    handshake_attempts_ = 0;
    sent_lastminute_handshake_ = false;
}

void PeerTimers::on_session_derived(Instant now, Rng& rng) {
    arm(zero_key_material_, now + 3 * kRejectAfterTime);
    data_sent_jitter_ = jitter(rng);
}

void PeerTimers::on_current_keypair_changed(const Keypair* current) {
    session_expired_ = false;
    if (current == nullptr) {
        session_expiry_ = kNever;
    } else {
        arm(session_expiry_, current->created + kRejectAfterTime);
    }
}

void PeerTimers::on_flush_deferred(Instant now) { arm(flush_staged_, now); }

void PeerTimers::on_expired_keepalive_sent(Instant now) {
    if (need_another_keepalive_) {
        need_another_keepalive_ = false;
        arm(send_keepalive_, now + kKeepaliveTimeout);
    }
}

bool PeerTimers::may_send_initiation(Instant now) const {
    return !has_sent_ || now - last_handshake_sent_ >= kRekeyTimeout;
}

bool PeerTimers::want_rekey_after_send(const Keypair* current, Instant now) const {
    if (current == nullptr || current->send_counter >= kRejectAfterMessages) return false;
    return current->send_counter > kRekeyAfterMessages ||
           (current->initiator && older_than(current->created, now, kRekeyAfterTime));
}

bool PeerTimers::want_rekey_after_receive(const Keypair* current, Instant now) {
    if (sent_lastminute_handshake_ || current == nullptr || !current->initiator) return false;
    if (!older_than(current->created, now, kRejectAfterTime - kKeepaliveTimeout - kRekeyTimeout)) {
        return false;
    }
    sent_lastminute_handshake_ = true;
    return true;
}

std::uint32_t PeerTimers::expire(Instant now) {
    std::uint32_t due = kActionNone;
    auto take = [now](Instant& t) {
        if (t > now) return false;
        t = kNever;
        return true;
    };
    if (take(zero_key_material_)) due |= kActionZeroKeyMaterial;
    if (take(session_expiry_)) {
        session_expired_ = true;
        due |= kActionSessionExpired;
    }
    if (take(retransmit_handshake_)) {
        if (handshake_attempts_ > kMaxTimerHandshakes) {
            due |= kActionGiveUp;
            send_keepalive_ = kNever;
            if (zero_key_material_ == kNever) arm(zero_key_material_, now + 3 * kRejectAfterTime);
        } else {
            ++handshake_attempts_;
            due |= kActionRetransmitHandshake;
        }
    }
    if (take(new_handshake_)) due |= kActionNewHandshake;
    if (take(send_keepalive_)) due |= kActionSendKeepalive;
    if (take(persistent_keepalive_) && persistent_keepalive_s_ != 0) {
        due |= kActionPersistentKeepalive;
    }
    if (take(flush_staged_)) due |= kActionFlushStaged;
    return due;
}

Instant PeerTimers::next_deadline() const {
    return std::min({retransmit_handshake_, send_keepalive_, new_handshake_, zero_key_material_,
                     persistent_keepalive_, session_expiry_, flush_staged_});
}

void PeerTimers::stop_session_timers() {
    retransmit_handshake_ = kNever;
    send_keepalive_ = kNever;
    new_handshake_ = kNever;
    zero_key_material_ = kNever;
    session_expiry_ = kNever;
    flush_staged_ = kNever;
    need_another_keepalive_ = false;
    handshake_attempts_ = 0;
    sent_lastminute_handshake_ = false;
}

bool keypair_can_send(const Keypair& kp, Instant now) {
    return !older_than(kp.created, now, kRejectAfterTime) && kp.send_counter < kRejectAfterMessages;
}

bool keypair_can_receive(const Keypair& kp, Instant now) {
    return !older_than(kp.created, now, kRejectAfterTime);
}

}  // namespace tunless::wg
