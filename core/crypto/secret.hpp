// Secret material: fixed-size, move-only, wiped on destruction (sodium_memzero), never printed.
// Also the constant-time comparison every MAC and key check must use.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>

#include "core/base/bytes.hpp"

namespace tunless::crypto {

void secure_wipe(void* p, std::size_t n) noexcept;                   // sodium_memzero
bool constant_time_equal(ByteView a, ByteView b) noexcept;          // false if sizes differ
bool is_all_zero(ByteView a) noexcept;                              // constant time

template <std::size_t N>
class SecretBytes {
public:
    SecretBytes() = default;
    // `from` must hold exactly N bytes (asserted; shorter input is never read past its end).
    explicit SecretBytes(ByteView from) {
        assert(from.size() == N);
        std::copy_n(from.begin(), std::min(N, from.size()), b_.begin());
    }
    ~SecretBytes() { secure_wipe(b_.data(), N); }
    SecretBytes(const SecretBytes&) = default;  // explicit copies are needed for chaining keys
    SecretBytes& operator=(const SecretBytes&) = default;
    SecretBytes(SecretBytes&& o) noexcept : b_(o.b_) { o.wipe(); }
    SecretBytes& operator=(SecretBytes&& o) noexcept {
        b_ = o.b_;
        o.wipe();
        return *this;
    }

    std::uint8_t* data() { return b_.data(); }
    const std::uint8_t* data() const { return b_.data(); }
    static constexpr std::size_t size() { return N; }
    MutByteView span() { return {b_.data(), N}; }
    ByteView view() const { return {b_.data(), N}; }
    void wipe() { secure_wipe(b_.data(), N); }
    bool is_zero() const { return is_all_zero(view()); }

private:
    std::array<std::uint8_t, N> b_{};
};

}  // namespace tunless::crypto
