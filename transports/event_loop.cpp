#include "transports/event_loop.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "transports/clock.hpp"

namespace tunless::io {
namespace {

constexpr int kMaxEventsPerRound = 64;

std::uint32_t to_epoll(std::uint32_t interest) {
    std::uint32_t ev = 0;
    if (interest & kRead) {
        ev |= EPOLLIN;
    }
    if (interest & kWrite) {
        ev |= EPOLLOUT;
    }
    return ev;
}

std::uint32_t from_epoll(std::uint32_t ev) {
    std::uint32_t out = 0;
    if (ev & (EPOLLIN | EPOLLPRI)) {
        out |= kRead;
    }
    if (ev & EPOLLOUT) {
        out |= kWrite;
    }
    if (ev & EPOLLERR) {
        out |= kError;
    }
    if (ev & EPOLLHUP) {
        out |= kHangup;
    }
    return out;
}

Unexpected errno_fail(const char* what) {
    return fail(Errc::kIo, std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

// The signalfd is registered like any other fd; this adapter forwards to the loop.
class EventLoop::SignalDispatch final : public FdHandler {
public:
    explicit SignalDispatch(EventLoop& loop) : loop_(loop) {}
    void on_fd_ready(int, std::uint32_t) override {
        while (auto sig = loop_.signals_.read_one()) {
            loop_.on_signal(*sig);
        }
    }

private:
    EventLoop& loop_;
};

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        return errno_fail("epoll_create1");
    }
    return std::unique_ptr<EventLoop>(new EventLoop(UniqueFd(fd)));
}

EventLoop::EventLoop(UniqueFd epoll_fd) : epoll_(std::move(epoll_fd)), now_(mono_now()) {}

EventLoop::~EventLoop() {
    if (signals_.fd() >= 0) {
        remove_fd(signals_.fd());
    }
}

Status EventLoop::add_fd(int fd, std::uint32_t interest, FdHandler& handler) {
    if (fds_.count(fd) != 0) {
        return fail(Errc::kAlreadyExists, "fd " + std::to_string(fd) + " already registered");
    }
    const std::uint64_t token = (next_serial_++ << 32) | static_cast<std::uint32_t>(fd);
    epoll_event ev{};
    ev.events = to_epoll(interest);
    ev.data.u64 = token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        return errno_fail("epoll_ctl(ADD)");
    }
    fds_.emplace(fd, Registration{&handler, interest, token});
    return {};
}

Status EventLoop::modify_fd(int fd, std::uint32_t interest) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        return fail(Errc::kNotFound, "fd " + std::to_string(fd) + " not registered");
    }
    if (it->second.interest == interest) {
        return {};
    }
    epoll_event ev{};
    ev.events = to_epoll(interest);
    ev.data.u64 = it->second.token;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
        return errno_fail("epoll_ctl(MOD)");
    }
    it->second.interest = interest;
    return {};
}

void EventLoop::remove_fd(int fd) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        return;
    }
    // Erasing the registration is what makes events already fetched this round stale: the
    // token check in dispatch_fd no longer matches, even if the fd number is reused at once.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    fds_.erase(it);
}

std::optional<std::uint32_t> EventLoop::interest(int fd) const {
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        return std::nullopt;
    }
    return it->second.interest;
}

void EventLoop::add_deadline_provider(DeadlineProvider& provider) {
    if (std::find(providers_.begin(), providers_.end(), &provider) == providers_.end()) {
        providers_.push_back(&provider);
    }
}

void EventLoop::remove_deadline_provider(DeadlineProvider& provider) {
    // Null out rather than erase: run_timers may be iterating; compaction happens there.
    for (auto& p : providers_) {
        if (p == &provider) {
            p = nullptr;
            providers_dirty_ = true;
        }
    }
}

TimerId EventLoop::add_timer(Duration delay, std::function<void()> cb) {
    return timers_.add(mono_now() + delay, std::move(cb));
}

TimerId EventLoop::add_periodic(Duration period, std::function<void()> cb) {
    return timers_.add(mono_now() + period, std::move(cb), period);
}

bool EventLoop::cancel_timer(TimerId id) {
    return timers_.cancel(id);
}

void EventLoop::post(std::function<void()> fn) {
    posted_.push_back(std::move(fn));
}

Status EventLoop::enable_signals(SignalHandlers handlers) {
    if (signals_.fd() >= 0) {
        return fail(Errc::kAlreadyExists, "signals already enabled");
    }
    auto sfd = SignalFd::open({SIGINT, SIGTERM, SIGHUP, SIGUSR1});
    if (!sfd) {
        return sfd.error();
    }
    signals_ = std::move(*sfd);
    signal_handlers_ = std::move(handlers);
    signal_dispatch_ = std::make_unique<SignalDispatch>(*this);
    return add_fd(signals_.fd(), kRead, *signal_dispatch_);
}

void EventLoop::on_signal(int sig) {
    ++stats_.signals;
    if (sig == SIGHUP) {
        if (signal_handlers_.on_reload) {
            signal_handlers_.on_reload();
        }
        return;
    }
    if (sig == SIGUSR1) {
        if (signal_handlers_.on_status) {
            signal_handlers_.on_status();
        }
        return;
    }
    if (signal_handlers_.on_stop) {
        signal_handlers_.on_stop(sig);
    }
    request_stop();
}

Instant EventLoop::next_deadline() const {
    Instant earliest = timers_.next_deadline();
    for (const DeadlineProvider* p : providers_) {
        if (p != nullptr) {
            earliest = std::min(earliest, p->next_deadline());
        }
    }
    return earliest;
}

int EventLoop::timeout_ms(Instant now, Instant deadline) {
    if (deadline == kNever) {
        return -1;
    }
    if (deadline <= now) {
        return 0;
    }
    const auto ns = (deadline - now).count();
    constexpr std::int64_t kNsPerMs = 1'000'000;
    const std::int64_t ms = (ns + kNsPerMs - 1) / kNsPerMs;
    return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

Status EventLoop::run() {
    while (!stop_) {
        Status st = run_once();
        if (!st) {
            return st;
        }
    }
    return {};
}

Status EventLoop::run_once(std::optional<Duration> max_wait) {
    now_ = mono_now();
    int timeout = timeout_ms(now_, next_deadline());
    if (!posted_.empty() || stop_) {
        timeout = 0;
    }
    if (max_wait) {
        const int cap = timeout_ms(now_, now_ + *max_wait);
        timeout = (timeout < 0) ? cap : std::min(timeout, cap);
    }
    epoll_event events[kMaxEventsPerRound];
    ++stats_.rounds;
    const int n = ::epoll_wait(epoll_.get(), events, kMaxEventsPerRound, timeout);
    if (n < 0 && errno != EINTR) {
        return errno_fail("epoll_wait");
    }
    now_ = mono_now();
    for (int i = 0; i < n; ++i) {
        dispatch_fd(events[i].data.u64, events[i].events);
    }
    run_timers();
    run_posted();
    return {};
}

void EventLoop::dispatch_fd(std::uint64_t token, std::uint32_t epoll_events) {
    const int fd = static_cast<int>(token & 0xffffffffU);
    auto it = fds_.find(fd);
    if (it == fds_.end() || it->second.token != token) {
        return;  // removed (and maybe re-added) by an earlier handler this round
    }
    const std::uint32_t ready = from_epoll(epoll_events);
    // Report only what was asked for, plus errors (interest may have changed this round).
    const std::uint32_t deliver = ready & (it->second.interest | kError | kHangup);
    if (deliver == 0) {
        return;
    }
    ++stats_.fd_events;
    it->second.handler->on_fd_ready(fd, deliver);
}

void EventLoop::run_timers() {
    stats_.timer_callbacks += timers_.fire_due(now_);
    // Index loop: a provider's on_timer may add providers (appended) or remove them (nulled).
    for (std::size_t i = 0; i < providers_.size(); ++i) {
        DeadlineProvider* p = providers_[i];
        if (p != nullptr && p->next_deadline() <= now_) {
            ++stats_.timer_callbacks;
            p->on_timer(now_);
        }
    }
    if (providers_dirty_) {
        providers_.erase(std::remove(providers_.begin(), providers_.end(), nullptr),
                         providers_.end());
        providers_dirty_ = false;
    }
}

void EventLoop::run_posted() {
    std::vector<std::function<void()>> batch;
    batch.swap(posted_);
    for (auto& fn : batch) {
        ++stats_.posted_run;
        fn();
    }
}

}  // namespace tunless::io
