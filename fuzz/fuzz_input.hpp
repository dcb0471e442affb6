// FuzzInput: a cursor over a fuzzer's input for structure-aware harnesses (the idea of LLVM's
// FuzzedDataProvider, kept tiny). Reads never fail: past the end they return zeros or an
// empty view, so every byte string is a valid program. Little-endian integers.
// Not for parsing untrusted data in production; used by fuzz/*_fuzz.cpp and the seed writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/base/bytes.hpp"

namespace tunless::fuzz {

class FuzzInput {
public:
    explicit FuzzInput(ByteView data) : data_(data) {}

    bool empty() const { return pos_ >= data_.size(); }
    std::size_t remaining() const { return data_.size() - pos_; }

    std::uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
    std::uint32_t u32() { return std::uint32_t{u16()} | (std::uint32_t{u16()} << 16); }
    std::uint64_t u64() { return std::uint64_t{u32()} | (std::uint64_t{u32()} << 32); }

    // Up to n bytes (fewer at the end of the input).
    ByteView bytes(std::size_t n) {
        const std::size_t take = n < remaining() ? n : remaining();
        ByteView v = data_.subspan(pos_, take);
        pos_ += take;
        return v;
    }
    ByteView rest() { return bytes(remaining()); }

private:
    ByteView data_;
    std::size_t pos_ = 0;
};

// A heap copy of exactly `v.size()` bytes, so ASan reports any read past the end.
class ExactCopy {
public:
    explicit ExactCopy(ByteView v)
        : size_(v.size()), data_(new std::uint8_t[v.size() ? v.size() : 1]) {
        if (!v.empty()) std::memcpy(data_.get(), v.data(), v.size());
    }
    std::uint8_t* data() { return data_.get(); }
    std::size_t size() const { return size_; }
    ByteView view() const { return {data_.get(), size_}; }
    MutByteView span() { return {data_.get(), size_}; }

private:
    std::size_t size_;
    std::unique_ptr<std::uint8_t[]> data_;
};

// Stops the process with a message naming the violated property; the fuzzer reports a crash.
[[noreturn]] void fail(const char* what);

inline void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

}  // namespace tunless::fuzz
