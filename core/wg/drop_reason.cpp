#include "core/wg/drop_reason.hpp"

namespace tunless::wg {

const char* drop_reason_name(DropReason r) noexcept {
    switch (r) {
        case DropReason::kTooShort: return "too_short";
        case DropReason::kUnknownType: return "unknown_type";
        case DropReason::kBadLength: return "bad_length";
        case DropReason::kNoIdentity: return "no_identity";
        case DropReason::kBadMac1: return "bad_mac1";
        case DropReason::kCookieRequired: return "cookie_required";
        case DropReason::kRateLimited: return "rate_limited";
        case DropReason::kHandshakeFailed: return "handshake_failed";
        case DropReason::kUnknownPeer: return "unknown_peer";
        case DropReason::kStaleTimestamp: return "stale_timestamp";
        case DropReason::kInitiationFlood: return "initiation_flood";
        case DropReason::kUnexpectedResponse: return "unexpected_response";
        case DropReason::kBadCookieReply: return "bad_cookie_reply";
        case DropReason::kUnknownReceiverIndex: return "unknown_receiver_index";
        case DropReason::kExpiredKeypair: return "expired_keypair";
        case DropReason::kMessageLimit: return "message_limit";
        case DropReason::kDecryptFailed: return "decrypt_failed";
        case DropReason::kReplayedCounter: return "replayed_counter";
        case DropReason::kBadInnerPacket: return "bad_inner_packet";
        case DropReason::kSourceNotAllowed: return "source_not_allowed";
        case DropReason::kBadOutgoingPacket: return "bad_outgoing_packet";
        case DropReason::kNoRoute: return "no_route";
        case DropReason::kNoEndpoint: return "no_endpoint";
        case DropReason::kStagedOverflow: return "staged_overflow";
        case DropReason::kHandshakeGaveUp: return "handshake_gave_up";
        case DropReason::kPeerRemoved: return "peer_removed";
        case DropReason::kOutboxFull: return "outbox_full";
        case DropReason::kCount: break;
    }
    return "unknown";
}

}  // namespace tunless::wg
