// Vocabulary shared by the proxy protocol codecs (SOCKS5, HTTP proxy, PROXY protocol v2): the
// three-way outcome of parsing untrusted bytes and a fixed-capacity byte buffer that serializers
// return so nothing on these paths allocates. No I/O, no policy: the servers own both.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/base/bytes.hpp"

namespace tunless::proxy {

// What a parser concluded about the bytes it was given.
enum class Progress : std::uint8_t {
    kNeedMore,  // a valid prefix: call again with more bytes appended
    kDone,      // a complete message; `consumed` says how many bytes it took
    kError,     // invalid; `fault` says why (never recoverable: reply as documented, then close)
};

// Outcome of a prefix parser. `value` is meaningful only for kDone, `fault` only for kError.
// A parser reports kError as soon as the first invalid byte is visible, so a bad first byte is
// rejected without waiting for the rest of the message.
template <typename T, typename Fault>
struct Parsed {
    Progress progress = Progress::kNeedMore;
    std::size_t consumed = 0;
    T value{};
    Fault fault{};

    bool done() const { return progress == Progress::kDone; }
    bool need_more() const { return progress == Progress::kNeedMore; }
    bool failed() const { return progress == Progress::kError; }
};

// Owned bytes with capacity N. Serializers size N for their largest message, so an overflow
// is a bug in the serializer (asserted), not an input condition.
template <std::size_t N>
class FixedBytes {
public:
    static constexpr std::size_t capacity() { return N; }
    std::size_t size() const { return size_; }
    const std::uint8_t* data() const { return bytes_.data(); }
    ByteView view() const { return {bytes_.data(), size_}; }

    void push(std::uint8_t b) {
        assert(size_ < N);
        bytes_[size_++] = b;
    }
    void append(ByteView b) {
        assert(b.size() <= N - size_);
        if (!b.empty()) {
            std::memcpy(bytes_.data() + size_, b.data(), b.size());
        }
        size_ += b.size();
    }
    void append_be16(std::uint16_t v) {
        push(static_cast<std::uint8_t>(v >> 8));
        push(static_cast<std::uint8_t>(v));
    }

private:
    std::array<std::uint8_t, N> bytes_{};
    std::size_t size_ = 0;
};

}  // namespace tunless::proxy
