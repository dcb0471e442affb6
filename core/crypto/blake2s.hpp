// BLAKE2s (RFC 7693), keyed and unkeyed, digest 1..32 bytes. Our own implementation because
// neither libsodium nor Mbed TLS 2.28 ships BLAKE2s; WireGuard's HASH, MAC, HMAC and KDF use it
// (WireGuard paper §5.4: HASH = BLAKE2s-256, MAC = keyed BLAKE2s-128).
// Not a general hashing framework: no salt/personalisation parameters, no tree mode.
// Callers: core/crypto/kdf, core/wg (handshake hashes, mac1/mac2, cookies).
#pragma once

#include <array>
#include <cstdint>

#include "core/base/bytes.hpp"

namespace tunless::crypto {

class Blake2s {
public:
    static constexpr std::size_t kBlockLen = 64;
    static constexpr std::size_t kMaxOutLen = 32;
    static constexpr std::size_t kMaxKeyLen = 32;

    // out_len 1..32, key 0..32 bytes (preconditions asserted).
    explicit Blake2s(std::size_t out_len = 32, ByteView key = {});
    ~Blake2s();  // wipes state
    Blake2s(const Blake2s&) = delete;
    Blake2s& operator=(const Blake2s&) = delete;

    // Any number of calls with any split of the input gives the same digest as one call.
    void update(ByteView data);
    // out.size() == out_len (asserted; a shorter `out` gets a truncated digest, never an
    // overrun). The object is wiped and unusable afterwards.
    void final(MutByteView out);

private:
    void compress(const std::uint8_t* block, bool last);

    std::array<std::uint32_t, 8> h_{};
    std::array<std::uint32_t, 2> t_{};  // byte counter, low word first (RFC 7693 §3.2)
    std::array<std::uint8_t, kBlockLen> buf_{};
    std::size_t buf_len_ = 0;
    std::size_t out_len_;
};

// One-shot helpers. blake2s(): digest length = out.size() (1..32), optional key (0..32 bytes).
void blake2s(MutByteView out, ByteView in, ByteView key = {});
std::array<std::uint8_t, 32> blake2s_256(ByteView in);
// HASH(a || b) without concatenating: the Noise MixHash step (WireGuard paper §5.4).
std::array<std::uint8_t, 32> blake2s_256(ByteView a, ByteView b);

}  // namespace tunless::crypto
