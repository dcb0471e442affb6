// WireGuard wire format and protocol constants, all in one place (kernel messages.h,
// wireguard-go constants.go + noise-protocol.go). parse() matches (type, exact length) at the
// edge and returns borrowed typed views; everything after it works on validated views.
// Not the cryptography (handshake.cpp, cookie.cpp) and not implementation caps (limits.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "core/base/bytes.hpp"
#include "core/base/time.hpp"
#include "core/wg/drop_reason.hpp"

namespace tunless::wg {

// ---- Specification constants (WireGuard paper §5.4, §6; wireguard.com/protocol) -----------

inline constexpr std::string_view kConstruction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr std::string_view kIdentifier = "WireGuard v1 zx2c4 Jason@zx2c4.com";
inline constexpr std::string_view kLabelMac1 = "mac1----";
inline constexpr std::string_view kLabelCookie = "cookie--";

inline constexpr std::uint64_t kRekeyAfterMessages = std::uint64_t{1} << 60;
// 2^64 - 2^13 - 1: the replay window must never see a counter it cannot represent.
inline constexpr std::uint64_t kRejectAfterMessages = ~std::uint64_t{0} - (std::uint64_t{1} << 13);
inline constexpr Duration kRekeyAfterTime = 120s;
inline constexpr Duration kRejectAfterTime = 180s;
inline constexpr Duration kRekeyAttemptTime = 90s;
inline constexpr Duration kRekeyTimeout = 5s;
inline constexpr std::uint32_t kRekeyTimeoutJitterMaxMs = 334;  // jitter uniform in [0, 334) ms
inline constexpr Duration kKeepaliveTimeout = 10s;
// Retransmissions before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT (kernel timers.c).
inline constexpr std::uint32_t kMaxTimerHandshakes = 90 / 5;
inline constexpr Duration kCookieRefreshTime = 120s;    // responder cookie secret max age
inline constexpr Duration kCookieSecretLatency = 5s;    // initiator stops using a cookie this early
inline constexpr Duration kHandshakeInitiationRate = 20ms;  // 50 initiations/s per peer
inline constexpr std::size_t kPaddingMultiple = 16;     // paper §5.4.6

// ---- Lengths -------------------------------------------------------------------------------

inline constexpr std::size_t kKeyLen = 32;
inline constexpr std::size_t kTagLen = 16;          // Poly1305
inline constexpr std::size_t kHashLen = 32;         // BLAKE2s-256
inline constexpr std::size_t kTimestampLen = 12;    // TAI64N
inline constexpr std::size_t kMacLen = 16;          // BLAKE2s-128 (mac1, mac2)
inline constexpr std::size_t kCookieLen = 16;
inline constexpr std::size_t kCookieNonceLen = 24;  // XChaCha20-Poly1305
constexpr std::size_t encrypted_len(std::size_t plain) { return plain + kTagLen; }

enum class MessageType : std::uint32_t {
    kInitiation = 1,
    kResponse = 2,
    kCookieReply = 3,
    kTransport = 4,
};

// Every message starts with a u8 type and 3 reserved zero bytes, read as one little-endian
// u32 so the reserved bytes are checked for free (kernel messages.h message_header).
inline constexpr std::size_t kHeaderLen = 4;

// Handshake initiation (paper §5.4.2): 148 bytes.
namespace initiation {
inline constexpr std::size_t kSender = 4;
inline constexpr std::size_t kEphemeral = 8;
inline constexpr std::size_t kStatic = kEphemeral + kKeyLen;                    // 40
inline constexpr std::size_t kTimestamp = kStatic + encrypted_len(kKeyLen);     // 88
inline constexpr std::size_t kMac1 = kTimestamp + encrypted_len(kTimestampLen);  // 116
inline constexpr std::size_t kMac2 = kMac1 + kMacLen;                           // 132
inline constexpr std::size_t kSize = kMac2 + kMacLen;                           // 148
}  // namespace initiation

// Handshake response (paper §5.4.3): 92 bytes.
namespace response {
inline constexpr std::size_t kSender = 4;
inline constexpr std::size_t kReceiver = 8;
inline constexpr std::size_t kEphemeral = 12;
inline constexpr std::size_t kEmpty = kEphemeral + kKeyLen;  // 44
inline constexpr std::size_t kMac1 = kEmpty + encrypted_len(0);  // 60
inline constexpr std::size_t kMac2 = kMac1 + kMacLen;       // 76
inline constexpr std::size_t kSize = kMac2 + kMacLen;       // 92
}  // namespace response

// Cookie reply (paper §5.4.7): 64 bytes.
namespace cookie_reply {
inline constexpr std::size_t kReceiver = 4;
inline constexpr std::size_t kNonce = 8;
inline constexpr std::size_t kCookie = kNonce + kCookieNonceLen;        // 32
inline constexpr std::size_t kSize = kCookie + encrypted_len(kCookieLen);  // 64
}  // namespace cookie_reply

// Transport data (paper §5.4.6): 16-byte header, then the AEAD of the padded packet.
namespace transport {
inline constexpr std::size_t kReceiver = 4;
inline constexpr std::size_t kCounter = 8;
inline constexpr std::size_t kContent = 16;
inline constexpr std::size_t kHeaderSize = kContent;
inline constexpr std::size_t kMinSize = kHeaderSize + kTagLen;  // 32 = a keepalive
}  // namespace transport

static_assert(initiation::kSize == 148 && response::kSize == 92 && cookie_reply::kSize == 64 &&
              transport::kMinSize == 32);

// Padded plaintext length for an IP packet of `len` bytes (paper §5.4.6; kernel
// calculate_skb_padding): round up to 16, but never beyond the MTU; packets already larger
// than the MTU are not padded.
constexpr std::size_t padded_len(std::size_t len, std::size_t mtu) {
    if (len >= mtu) return len;
    const std::size_t up = (len + kPaddingMultiple - 1) & ~(kPaddingMultiple - 1);
    return up < mtu ? up : mtu;
}
constexpr std::size_t transport_len(std::size_t padded_plain) {
    return transport::kHeaderSize + encrypted_len(padded_plain);
}

// ---- Borrowed views (valid while the parsed datagram is) ----------------------------------

class InitiationView {
public:
    explicit InitiationView(ByteView b) : b_(b) {}
    ByteView bytes() const { return b_; }
    std::uint32_t sender() const { return load_le32(b_.data() + initiation::kSender); }
    ByteView ephemeral() const { return b_.subspan(initiation::kEphemeral, kKeyLen); }
    ByteView encrypted_static() const {
        return b_.subspan(initiation::kStatic, encrypted_len(kKeyLen));
    }
    ByteView encrypted_timestamp() const {
        return b_.subspan(initiation::kTimestamp, encrypted_len(kTimestampLen));
    }
    ByteView mac1() const { return b_.subspan(initiation::kMac1, kMacLen); }
    ByteView mac2() const { return b_.subspan(initiation::kMac2, kMacLen); }

private:
    ByteView b_;
};

class ResponseView {
public:
    explicit ResponseView(ByteView b) : b_(b) {}
    ByteView bytes() const { return b_; }
    std::uint32_t sender() const { return load_le32(b_.data() + response::kSender); }
    std::uint32_t receiver() const { return load_le32(b_.data() + response::kReceiver); }
    ByteView ephemeral() const { return b_.subspan(response::kEphemeral, kKeyLen); }
    ByteView encrypted_empty() const { return b_.subspan(response::kEmpty, encrypted_len(0)); }
    ByteView mac1() const { return b_.subspan(response::kMac1, kMacLen); }
    ByteView mac2() const { return b_.subspan(response::kMac2, kMacLen); }

private:
    ByteView b_;
};

class CookieReplyView {
public:
    explicit CookieReplyView(ByteView b) : b_(b) {}
    ByteView bytes() const { return b_; }
    std::uint32_t receiver() const { return load_le32(b_.data() + cookie_reply::kReceiver); }
    ByteView nonce() const { return b_.subspan(cookie_reply::kNonce, kCookieNonceLen); }
    ByteView encrypted_cookie() const {
        return b_.subspan(cookie_reply::kCookie, encrypted_len(kCookieLen));
    }

private:
    ByteView b_;
};

class TransportView {
public:
    explicit TransportView(ByteView b) : b_(b) {}
    ByteView bytes() const { return b_; }
    std::uint32_t receiver() const { return load_le32(b_.data() + transport::kReceiver); }
    std::uint64_t counter() const { return load_le64(b_.data() + transport::kCounter); }
    // Ciphertext plus tag (>= 16 bytes).
    ByteView encrypted_content() const { return b_.subspan(transport::kContent); }
    std::size_t plaintext_len() const { return b_.size() - transport::kMinSize; }

private:
    ByteView b_;
};

// Either a drop reason (kTooShort, kUnknownType, kBadLength) or one validated view.
using ParsedMessage =
    std::variant<DropReason, InitiationView, ResponseView, CookieReplyView, TransportView>;

ParsedMessage parse(ByteView datagram);

// ---- Serialization helpers -----------------------------------------------------------------
// Each writes the fixed header fields at the start of `out`; the caller provides exactly the
// message size (asserted) and fills the cryptographic fields.

void write_initiation_header(MutByteView out, std::uint32_t sender);
void write_response_header(MutByteView out, std::uint32_t sender, std::uint32_t receiver);
void write_cookie_reply(MutByteView out, std::uint32_t receiver, ByteView nonce24,
                        ByteView encrypted_cookie32);
// `out` is at least transport::kHeaderSize bytes.
void write_transport_header(MutByteView out, std::uint32_t receiver, std::uint64_t counter);

}  // namespace tunless::wg
