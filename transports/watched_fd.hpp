// WatchedFd: one fd and its registration with the EventLoop, owned together. The registration
// always goes first: EventLoop::remove_fd needs the live fd number, and a registration left
// behind by a closed fd makes add_fd refuse the next socket that gets the same number.
// For objects that poll a socket only part of their life (proxy sessions while negotiating or
// dialing, splices that park a hung-up socket) and hand it on or close it in several places.
#pragma once

#include <cstdint>

#include "core/base/result.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

class WatchedFd {
public:
    WatchedFd(EventLoop& loop, UniqueFd fd) noexcept : loop_(loop), fd_(std::move(fd)) {}
    ~WatchedFd() { unwatch(); }

    WatchedFd(const WatchedFd&) = delete;
    WatchedFd& operator=(const WatchedFd&) = delete;

    int get() const noexcept { return fd_.get(); }
    explicit operator bool() const noexcept { return fd_.valid(); }
    bool watched() const noexcept { return watched_; }

    // Starts polling (add_fd). Fails for a closed fd or one already watched.
    Status watch(std::uint32_t interest, FdHandler& handler);
    // modify_fd while watched; a no-op success otherwise.
    Status set_interest(std::uint32_t interest);
    void unwatch() noexcept;
    // Stops polling and gives the fd away (to a splice, a UDP association, a reset).
    [[nodiscard]] UniqueFd release() noexcept;
    // Stops polling, closes the fd and takes `fd` (unwatched).
    void reset(UniqueFd fd = {}) noexcept;

private:
    EventLoop& loop_;
    UniqueFd fd_;
    bool watched_ = false;
};

}  // namespace tunless::io
