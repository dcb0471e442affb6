// BLAKE2s (RFC 7693), keyed and unkeyed, digest 1..32 bytes. Our own implementation because
// neither libsodium nor Mbed TLS 2.28 ships BLAKE2s; WireGuard's HASH, MAC, HMAC and KDF use it.
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

    void update(ByteView data);
    void final(MutByteView out);  // out.size() == out_len; object unusable afterwards

private:
    void compress(const std::uint8_t block[kBlockLen], bool last);
    std::array<std::uint32_t, 8> h_{};
    std::array<std::uint32_t, 2> t_{};
    std::array<std::uint8_t, kBlockLen> buf_{};
    std::size_t buf_len_ = 0;
    std::size_t out_len_;
};

// One-shot helpers.
void blake2s(MutByteView out, ByteView in, ByteView key = {});
std::array<std::uint8_t, 32> blake2s_256(ByteView in);

}  // namespace tunless::crypto
