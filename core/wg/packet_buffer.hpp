// A growable byte buffer that keeps its capacity: after warm-up, reusing it never allocates.
// Used for Outbox slots and staged packets. Not a pool and not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/base/bytes.hpp"

namespace tunless::wg {

class PacketBuffer {
public:
    // Makes room for `n` bytes (contents unspecified) and returns them.
    MutByteView prepare(std::size_t n) {
        if (n > cap_) {
            std::size_t cap = cap_ == 0 ? kMinCapacity : cap_;
            while (cap < n) cap *= 2;
            data_ = std::make_unique_for_overwrite<std::uint8_t[]>(cap);
            cap_ = cap;
        }
        len_ = n;
        return {data_.get(), n};
    }
    void set_size(std::size_t n) { len_ = n <= cap_ ? n : cap_; }
    ByteView view() const { return {data_.get(), len_}; }
    std::size_t size() const { return len_; }
    std::size_t capacity() const { return cap_; }
    void release() {
        data_.reset();
        cap_ = 0;
        len_ = 0;
    }

private:
    static constexpr std::size_t kMinCapacity = 256;
    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t cap_ = 0;
    std::size_t len_ = 0;
};

}  // namespace tunless::wg
