// Why the WireGuard core dropped something: one named, counted reason per rejection path
// (the kernel's receive.c labels, boringtun's WireGuardError). Peer-controlled bad input is
// never an error value or an assert, only one of these. Counters live in wg::DeviceStats.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tunless::wg {

enum class DropReason : std::uint8_t {
    // Parsing (messages.cpp).
    kTooShort,             // datagram shorter than any message (4 bytes)
    kUnknownType,          // type byte not 1..4, or reserved bytes not zero
    kBadLength,            // length does not match the type
    // Handshake and cookie messages.
    kNoIdentity,           // handshake message while we have no private key
    kBadMac1,              // MAC1 did not verify (not meant for us)
    kCookieRequired,       // under load and no valid MAC2: answered with a cookie reply
    kRateLimited,          // under load, per-source token bucket empty
    kHandshakeFailed,      // a DH or AEAD step failed (wrong static key, wrong psk, low order)
    kUnknownPeer,          // initiation from a static key we have no peer for
    kStaleTimestamp,       // TAI64N not newer than the last accepted one (replay)
    kInitiationFlood,      // initiations for one peer faster than 1 per 20 ms
    kUnexpectedResponse,   // response for a handshake we are not waiting for
    kBadCookieReply,       // cookie reply we cannot decrypt or did not ask for
    // Transport data.
    kUnknownReceiverIndex, // no keypair/handshake for that receiver index
    kExpiredKeypair,       // keypair older than REJECT_AFTER_TIME
    kMessageLimit,         // counter at REJECT_AFTER_MESSAGES
    kDecryptFailed,        // AEAD tag did not verify
    kReplayedCounter,      // counter seen before or left of the window
    kBadInnerPacket,       // decrypted payload is not a valid IPv4/IPv6 packet
    kSourceNotAllowed,     // inner source address not in the sending peer's allowed IPs
    // Sending side.
    kBadOutgoingPacket,    // local IP packet too short / unknown version / too large
    kNoRoute,              // no peer's allowed IPs contain the destination
    kNoEndpoint,           // a message for a peer without a known endpoint
    kStagedOverflow,       // staged queue full: the oldest packet was dropped
    kHandshakeGaveUp,      // staged packets purged after REKEY_ATTEMPT_TIME without a session
    kPeerRemoved,          // staged packets of a removed peer
    kOutboxFull,           // caller's Outbox reached its cap for this call
    kCount
};

inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::kCount);

// Stable snake_case names for logs and status output ("bad_mac1", ...).
const char* drop_reason_name(DropReason r) noexcept;

using DropCounters = std::array<std::uint64_t, kDropReasonCount>;

}  // namespace tunless::wg
