// Result<T>: errors as values for the data path and configuration (shaped like
// std::expected so it can be swapped for it once the toolchain has C++23).
// Our code never throws; a Result carries an Error with a code and a human message.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tunless {

enum class Errc {
    kInvalidArgument,  // caller passed something malformed (config value, key text, ...)
    kNotFound,
    kAlreadyExists,
    kLimitReached,     // a bounded resource is full
    kAuthFailed,       // AEAD tag or MAC did not verify
    kWeakKey,          // X25519 produced the all-zero shared secret
    kIo,               // a syscall failed; message carries strerror
    kUnsupported,
    kTimedOut,
    kRefused,
    kUnreachable,
    kClosed,
    kProtocol,         // the other side violated a protocol
};

const char* errc_name(Errc c) noexcept;

struct Error {
    Errc code;
    std::string message;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// Tag type so `return Err{...}` reads clearly at call sites.
struct Unexpected {
    Error error;
};
inline Unexpected fail(Errc code, std::string message) {
    return Unexpected{Error{code, std::move(message)}};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT
    Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { assert(has_value()); return std::get<0>(v_); }
    const T& value() const& { assert(has_value()); return std::get<0>(v_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

    template <typename U>
    T value_or(U&& fallback) const& {
        return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Unexpected u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT
    Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT

    bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const Error& error() const { assert(!ok_); return err_; }

private:
    Error err_{Errc::kInvalidArgument, {}};
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tunless
