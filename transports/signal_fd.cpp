#include "transports/signal_fd.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace tunless::io {

Result<SignalFd> SignalFd::open(std::initializer_list<int> signals) {
    SignalFd s;
    sigemptyset(&s.blocked_);
    for (int sig : signals) {
        sigaddset(&s.blocked_, sig);
    }
    // Block first: a signal arriving between the two calls stays pending and shows up on the fd.
    if (::sigprocmask(SIG_BLOCK, &s.blocked_, &s.previous_) != 0) {
        return fail(Errc::kIo, std::string("sigprocmask: ") + std::strerror(errno));
    }
    s.active_ = true;
    int fd = ::signalfd(-1, &s.blocked_, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        return fail(Errc::kIo, std::string("signalfd: ") + std::strerror(errno));
    }
    s.fd_.reset(fd);
    return s;
}

SignalFd::~SignalFd() {
    restore();
}

SignalFd::SignalFd(SignalFd&& o) noexcept
    : fd_(std::move(o.fd_)),
      blocked_(o.blocked_),
      previous_(o.previous_),
      active_(std::exchange(o.active_, false)) {}

SignalFd& SignalFd::operator=(SignalFd&& o) noexcept {
    if (this != &o) {
        restore();
        fd_ = std::move(o.fd_);
        blocked_ = o.blocked_;
        previous_ = o.previous_;
        active_ = std::exchange(o.active_, false);
    }
    return *this;
}

std::optional<int> SignalFd::read_one() {
    if (!fd_) {
        return std::nullopt;
    }
    signalfd_siginfo info{};
    ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n != static_cast<ssize_t>(sizeof info)) {
        return std::nullopt;  // EAGAIN: nothing pending
    }
    return static_cast<int>(info.ssi_signo);
}

void SignalFd::restore() {
    if (!active_) {
        return;
    }
    // Consume what is pending so unblocking does not deliver it with the default action.
    while (read_one()) {
    }
    fd_.reset();
    // Unblock only the signals that were not blocked before open().
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sigismember(&blocked_, sig) == 1 && sigismember(&previous_, sig) != 1) {
            sigaddset(&unblock, sig);
        }
    }
    ::sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
    active_ = false;
}

}  // namespace tunless::io
