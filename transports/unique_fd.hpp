// UniqueFd: sole owner of one file descriptor, closed on destruction (RAII around the C handle).
// Move-only. It does not know about the event loop: remove an fd from the loop before the
// UniqueFd that owns it dies (EventLoop::remove_fd), or epoll keeps a stale registration;
// WatchedFd (watched_fd.hpp) owns both and does it in that order.
// Used by everything in transports/ that opens a socket, epoll, signalfd or file.
#pragma once

#include <unistd.h>

#include <utility>

namespace tunless::io {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }

    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset(std::exchange(o.fd_, -1));
        }
        return *this;
    }

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }

    // Gives up ownership without closing.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

    // Closes the current fd (if any) and takes `fd`. close() errors are ignored on purpose:
    // on Linux the fd is released even when close() reports EINTR/EIO, and retrying could
    // close an fd another component has just been given.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace tunless::io
