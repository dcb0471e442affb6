// SignalFd: turns process signals into fd readiness (signalfd(2)) so they are handled on the
// loop thread like any other event, never in an async signal handler. Opening it blocks the
// listed signals for the calling thread (the process has one); closing drains what is pending
// and restores the previous mask. EventLoop::enable_signals is the usual caller.
#pragma once

#include <signal.h>

#include <initializer_list>
#include <optional>

#include "core/base/result.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

class SignalFd {
public:
    static Result<SignalFd> open(std::initializer_list<int> signals);

    SignalFd() = default;
    ~SignalFd();
    SignalFd(SignalFd&& o) noexcept;
    SignalFd& operator=(SignalFd&& o) noexcept;
    SignalFd(const SignalFd&) = delete;
    SignalFd& operator=(const SignalFd&) = delete;

    int fd() const { return fd_.get(); }
    // Next pending signal number, nullopt when none is pending (non-blocking).
    std::optional<int> read_one();

private:
    void restore();

    UniqueFd fd_;
    sigset_t blocked_{};   // what we added to the mask
    sigset_t previous_{};  // the mask before open()
    bool active_ = false;
};

}  // namespace tunless::io
