// The ts2021 control channel: Noise_IK_25519_ChaChaPoly_BLAKE2s initiator and the encrypted
// record layer that carries HTTP/2 to the control server (tailscale control/controlbase:
// handshake.go, messages.go, conn.go). Sans-IO: bytes in, bytes out; the caller owns the TCP
// stream and the HTTP/1.1 upgrade (http1.hpp) that carries the initiation. Not the WireGuard
// handshake (core/wg): same primitives, different framing, and BIG-endian record nonces.
// Callers: the control session (HTTP upgrade, then HTTP/2 over ControlChannel).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::tailnet {

// controlbase/messages.go: the initiation is the only message with the 2-byte version prefix.
inline constexpr std::size_t kNoiseInitiationLen = 101;  // version 2 | type 1 | len 2 | 96
inline constexpr std::size_t kNoiseResponseLen = 51;     // type 1 | len 2 | e 32 | tag 16
inline constexpr std::size_t kNoiseHeaderLen = 3;        // type 1 | BE16 length
// controlbase/conn.go maxMessageSize and derived limits.
inline constexpr std::size_t kNoiseMaxRecordLen = 4096;
inline constexpr std::size_t kNoiseMaxCiphertextLen = kNoiseMaxRecordLen - kNoiseHeaderLen;
inline constexpr std::size_t kNoiseMaxPlaintextLen = kNoiseMaxCiphertextLen - 16;  // 4077
// A 0x03 error text is unauthenticated and only a hint: we keep this much of it.
inline constexpr std::size_t kNoiseMaxErrorText = 200;

namespace noise_type {
inline constexpr std::uint8_t kInitiation = 0x01;
inline constexpr std::uint8_t kResponse = 0x02;
inline constexpr std::uint8_t kError = 0x03;
inline constexpr std::uint8_t kRecord = 0x04;
}  // namespace noise_type

using HandshakeHash = std::array<std::uint8_t, 32>;

// An established channel. Records: type 0x04 | BE16 ciphertext length | ciphertext (+16-byte
// tag), no associated data, nonce = 4 zero bytes | 64-bit counter BIG-endian, per direction
// from 0 (conn.go; unlike WireGuard and the Noise spec). Any error poisons the channel for
// good (conn.go nukes the cipher on a failed decrypt): reconnect.
class ControlChannel {
public:
    // tx_key encrypts what we send, rx_key decrypts what we receive (for the initiator:
    // tx = k1, rx = k2 of the Noise Split). Public so tests and fuzzers can build the
    // server's side of a channel from known keys.
    ControlChannel(crypto::SymmetricKey tx_key, crypto::SymmetricKey rx_key, HandshakeHash hash,
                   std::uint16_t protocol_version);

    // Appends the records carrying `plaintext` to `out` (split at kNoiseMaxPlaintextLen; an
    // empty plaintext writes nothing). Either all records are written or none.
    Status seal(ByteView plaintext, Bytes& out);
    // Consumes all of `in` (any split of the server's stream), appends the decrypted bytes to
    // `plaintext_out` and keeps at most one partial record buffered. Empty records are
    // skipped. On error, plaintext of records before the bad one may already be appended; the
    // channel is poisoned either way.
    Status open(ByteView in, Bytes& plaintext_out);

    bool is_poisoned() const { return poisoned_; }
    // Noise handshake hash h: a channel binding (controlbase Conn.HandshakeHash).
    const HandshakeHash& handshake_hash() const { return hash_; }
    std::uint16_t protocol_version() const { return version_; }
    std::uint64_t tx_counter() const { return tx_counter_; }
    std::uint64_t rx_counter() const { return rx_counter_; }
    // Tests only: start the counters elsewhere (nonce encoding and exhaustion tests).
    void set_counters_for_test(std::uint64_t tx, std::uint64_t rx) {
        tx_counter_ = tx;
        rx_counter_ = rx;
    }

private:
    Status read_header(const std::uint8_t* hdr);  // sets partial_total_ or poisons
    Status open_record(ByteView record, Bytes& plaintext_out);
    Status poison(Errc code, const char* what);

    crypto::SymmetricKey tx_key_;
    crypto::SymmetricKey rx_key_;
    HandshakeHash hash_;
    std::uint16_t version_;
    std::uint64_t tx_counter_ = 0;
    std::uint64_t rx_counter_ = 0;
    Bytes partial_;                  // < kNoiseMaxRecordLen bytes of an incomplete record
    std::size_t partial_total_ = 0;  // whole length of that record once its header is in
    bool poisoned_ = false;
};

// What ControlHandshake::read_response made of the bytes so far.
struct HandshakeStep {
    std::size_t consumed = 0;               // bytes of `in` used; 0 while more are needed
    std::optional<ControlChannel> channel;  // set once the response verified
    bool need_more() const { return !channel.has_value(); }
};

// Noise IK initiator (controlbase.ClientDeferred + continueClientHandshake):
//   <- s
//   ...
//   -> e, es, s, ss     (initiation(), sent in the X-Tailscale-Handshake header)
//   <- e, ee, se        (read_response())
// Single use: after an error or a verified response, read_response only fails.
class ControlHandshake {
public:
    // The ephemeral key comes from `rng` (tests inject fixed bytes). The machine key is the
    // Noise static key; control_key is the server's static key from GET /key.
    static Result<ControlHandshake> create(const crypto::PrivateKey& machine_key,
                                           const crypto::PublicKey& control_key,
                                           std::uint16_t protocol_version, Rng& rng);

    // The 101-byte initiation message.
    ByteView initiation() const { return {initiation_.data(), initiation_.size()}; }

    // `in` = the bytes received after the HTTP 101 head, from the start of the server's
    // reply (the caller keeps unconsumed bytes and passes them again with more appended).
    // - fewer bytes than the message needs: step with consumed == 0 (need_more());
    // - a 51-byte response that verifies: the channel, consumed == 51 (records may follow
    //   in the rest of `in`: pass them to channel->open());
    // - a 0x03 error message: kRefused with its text (sanitised, capped at
    //   kNoiseMaxErrorText; returned as soon as that much has arrived);
    // - anything else (other type, wrong length, bad tag, all-zero DH): kProtocol /
    //   kAuthFailed / kWeakKey.
    Result<HandshakeStep> read_response(ByteView in);

private:
    ControlHandshake() = default;
    Result<HandshakeStep> finish(ByteView response);

    crypto::PrivateKey machine_key_;
    crypto::PrivateKey ephemeral_;
    crypto::PublicKey control_key_;
    crypto::SymmetricKey ck_;
    HandshakeHash h_{};
    std::array<std::uint8_t, kNoiseInitiationLen> initiation_{};
    std::uint16_t version_ = 0;
    bool done_ = false;
};

}  // namespace tunless::tailnet
