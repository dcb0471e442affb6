#include "core/crypto/blake2s.hpp"

#include <algorithm>
#include <cassert>

#include "core/crypto/secret.hpp"

namespace tunless::crypto {
namespace {

// RFC 7693 §2.6: the SHA-256 initial values.
constexpr std::array<std::uint32_t, 8> kIv = {
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

// RFC 7693 §2.7: message word schedule; BLAKE2s uses the first 10 rows.
constexpr std::uint8_t kSigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

constexpr std::uint32_t rotr(std::uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

// RFC 7693 §3.1, with BLAKE2s rotation constants (R1..R4) = (16, 12, 8, 7).
inline void mix(std::uint32_t* v, int a, int b, int c, int d, std::uint32_t x, std::uint32_t y) {
    v[a] = v[a] + v[b] + x;
    v[d] = rotr(v[d] ^ v[a], 16);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 12);
    v[a] = v[a] + v[b] + y;
    v[d] = rotr(v[d] ^ v[a], 8);
    v[c] = v[c] + v[d];
    v[b] = rotr(v[b] ^ v[c], 7);
}

}  // namespace

Blake2s::Blake2s(std::size_t out_len, ByteView key) : out_len_(out_len) {
    assert(out_len >= 1 && out_len <= kMaxOutLen);
    assert(key.size() <= kMaxKeyLen);
    out_len_ = std::clamp<std::size_t>(out_len, 1, kMaxOutLen);
    const std::size_t key_len = std::min(key.size(), kMaxKeyLen);
    h_ = kIv;
    // RFC 7693 §3.3: parameter block word 0 = 0x0101kknn (fanout 1, depth 1).
    h_[0] ^= 0x01010000u ^ (std::uint32_t(key_len) << 8) ^ std::uint32_t(out_len_);
    if (key_len > 0) {
        // The key, zero-padded to a full block, is the first data block.
        std::copy_n(key.begin(), key_len, buf_.begin());
        buf_len_ = kBlockLen;
    }
}

Blake2s::~Blake2s() {
    secure_wipe(h_.data(), sizeof(h_));
    secure_wipe(buf_.data(), buf_.size());
    secure_wipe(t_.data(), sizeof(t_));
}

void Blake2s::compress(const std::uint8_t* block, bool last) {
    std::uint32_t m[16];
    for (std::size_t i = 0; i < 16; ++i) {
        m[i] = load_le32(block + 4 * i);
    }
    std::uint32_t v[16];
    for (std::size_t i = 0; i < 8; ++i) {
        v[i] = h_[i];
        v[i + 8] = kIv[i];
    }
    v[12] ^= t_[0];
    v[13] ^= t_[1];
    if (last) {
        v[14] = ~v[14];
    }
    for (const auto& s : kSigma) {  // 10 rounds (RFC 7693 §3.2)
        mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (std::size_t i = 0; i < 8; ++i) {
        h_[i] ^= v[i] ^ v[i + 8];
    }
}

// The 64-bit byte counter t counts bytes including the block being compressed.
static void add_to_counter(std::array<std::uint32_t, 2>& t, std::uint32_t n) {
    t[0] += n;
    if (t[0] < n) {
        ++t[1];
    }
}

void Blake2s::update(ByteView data) {
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    if (n == 0) {
        return;
    }
    // The final block must be compressed with the `last` flag, so a full buffer is only
    // compressed once we know more input follows it.
    const std::size_t room = kBlockLen - buf_len_;
    if (n > room) {
        std::copy_n(p, room, buf_.begin() + static_cast<std::ptrdiff_t>(buf_len_));
        add_to_counter(t_, kBlockLen);
        compress(buf_.data(), false);
        buf_len_ = 0;
        p += room;
        n -= room;
        while (n > kBlockLen) {
            add_to_counter(t_, kBlockLen);
            compress(p, false);
            p += kBlockLen;
            n -= kBlockLen;
        }
    }
    std::copy_n(p, n, buf_.begin() + static_cast<std::ptrdiff_t>(buf_len_));
    buf_len_ += n;
}

void Blake2s::final(MutByteView out) {
    assert(out.size() == out_len_);
    add_to_counter(t_, static_cast<std::uint32_t>(buf_len_));
    std::fill(buf_.begin() + static_cast<std::ptrdiff_t>(buf_len_), buf_.end(), 0);
    compress(buf_.data(), true);
    std::uint8_t digest[kMaxOutLen];
    for (std::size_t i = 0; i < 8; ++i) {
        store_le32(digest + 4 * i, h_[i]);
    }
    std::copy_n(digest, std::min(out.size(), out_len_), out.begin());
    secure_wipe(digest, sizeof(digest));
    secure_wipe(h_.data(), sizeof(h_));
    secure_wipe(buf_.data(), buf_.size());
}

void blake2s(MutByteView out, ByteView in, ByteView key) {
    Blake2s h(out.size(), key);
    h.update(in);
    h.final(out);
}

std::array<std::uint8_t, 32> blake2s_256(ByteView in) {
    std::array<std::uint8_t, 32> out{};
    blake2s(out, in);
    return out;
}

std::array<std::uint8_t, 32> blake2s_256(ByteView a, ByteView b) {
    std::array<std::uint8_t, 32> out{};
    Blake2s h(32);
    h.update(a);
    h.update(b);
    h.final(out);
    return out;
}

}  // namespace tunless::crypto
