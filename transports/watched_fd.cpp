#include "transports/watched_fd.hpp"

namespace tunless::io {

Status WatchedFd::watch(std::uint32_t interest, FdHandler& handler) {
    if (!fd_) {
        return fail(Errc::kInvalidArgument, "watch: no fd");
    }
    if (auto st = loop_.add_fd(fd_.get(), interest, handler); !st) {
        return st;
    }
    watched_ = true;
    return {};
}

Status WatchedFd::set_interest(std::uint32_t interest) {
    return watched_ ? loop_.modify_fd(fd_.get(), interest) : Status{};
}

void WatchedFd::unwatch() noexcept {
    if (watched_) {
        loop_.remove_fd(fd_.get());
        watched_ = false;
    }
}

UniqueFd WatchedFd::release() noexcept {
    unwatch();
    return std::move(fd_);
}

void WatchedFd::reset(UniqueFd fd) noexcept {
    unwatch();
    fd_ = std::move(fd);
}

}  // namespace tunless::io
