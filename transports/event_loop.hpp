// EventLoop: the single-threaded epoll loop that owns the process's time and readiness.
// Everything runs on the thread that calls run(); there are no locks. Outside events (signals)
// arrive as fd events through signalfd. Nothing registered here may block.
// It is not a scheduler for protocol logic: components expose next_deadline()/on_timer(now)
// (DeadlineProvider) and the loop sleeps exactly until the earliest one. Owned by app::Daemon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "transports/signal_fd.hpp"
#include "transports/timer_queue.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

// Interest and readiness bits for add_fd/modify_fd and FdHandler::on_fd_ready.
inline constexpr std::uint32_t kRead = 1U << 0;
inline constexpr std::uint32_t kWrite = 1U << 1;
inline constexpr std::uint32_t kError = 1U << 2;   // EPOLLERR: always reported
inline constexpr std::uint32_t kHangup = 1U << 3;  // EPOLLHUP: always reported

class FdHandler {
public:
    // Called on the loop thread when `fd` is ready; `events` is a mask of kRead/kWrite/kError/
    // kHangup. kError and kHangup are reported even with no interest set, and keep being
    // reported (level-triggered): on them the handler must remove_fd (and usually close).
    // The handler may add/modify/remove any fd, its own included; once remove_fd returns, no
    // further event of that registration is delivered, even one already fetched this round.
    virtual void on_fd_ready(int fd, std::uint32_t events) = 0;
    virtual ~FdHandler() = default;
};

// A component with its own timers (wg::Device, netstack::Stack, a flow table...).
class DeadlineProvider {
public:
    // Earliest instant at which on_timer must run; kNever when nothing is pending.
    // Asked before every sleep, so it must be cheap and must reflect any state change.
    virtual Instant next_deadline() const = 0;
    // Called once per round in which next_deadline() <= now. It may be called slightly late,
    // never early.
    virtual void on_timer(Instant now) = 0;
    virtual ~DeadlineProvider() = default;
};

struct LoopStats {
    std::uint64_t rounds = 0;           // epoll_wait calls
    std::uint64_t fd_events = 0;        // handler invocations
    std::uint64_t timer_callbacks = 0;  // TimerQueue callbacks + DeadlineProvider::on_timer calls
    std::uint64_t posted_run = 0;
    std::uint64_t signals = 0;
};

class EventLoop {
public:
    struct SignalHandlers {
        std::function<void()> on_reload;   // SIGHUP
        std::function<void(int)> on_stop;  // SIGINT/SIGTERM, before the loop stops
        std::function<void()> on_status;   // SIGUSR1: dump counters to the log
    };

    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // --- file descriptors (the fd must be O_NONBLOCK; `handler` must outlive the registration)
    Status add_fd(int fd, std::uint32_t interest, FdHandler& handler);
    // Backpressure: e.g. drop kRead while the other side of a splice is full.
    Status modify_fd(int fd, std::uint32_t interest);
    // No-op for an unknown fd. Call before closing the fd.
    void remove_fd(int fd);
    std::optional<std::uint32_t> interest(int fd) const;

    // --- timers. Providers must outlive their registration; duplicates are ignored.
    void add_deadline_provider(DeadlineProvider& provider);
    void remove_deadline_provider(DeadlineProvider& provider);
    TimerId add_timer(Duration delay, std::function<void()> cb);
    TimerId add_periodic(Duration period, std::function<void()> cb);
    bool cancel_timer(TimerId id);

    // Runs `fn` after the current dispatch round (deferred destruction, re-injection).
    // Work posted while posted work runs goes to the next round, which then does not sleep.
    // Not capped: entries come from our own code, a few per dispatched event, never from
    // peer-controlled counts.
    void post(std::function<void()> fn);

    // SIGINT/SIGTERM -> on_stop(sig) then request_stop(); SIGHUP -> on_reload(); SIGUSR1 ->
    // on_status(). Blocks those signals while the loop lives (unset handlers: ignored, not
    // fatal).
    Status enable_signals(SignalHandlers handlers);

    void request_stop() { stop_ = true; }
    bool stop_requested() const { return stop_; }
    // Rounds until request_stop(). Fails only if epoll itself fails.
    Status run();
    // One round: sleep until the earliest deadline, an fd event, or `max_wait` (tests), then
    // dispatch fd events, due timers, and posted work.
    Status run_once(std::optional<Duration> max_wait = std::nullopt);

    // Monotonic time read at the start of the current dispatch round.
    Instant now() const { return now_; }
    // min(TimerQueue, providers); kNever when nothing is scheduled.
    Instant next_deadline() const;
    const LoopStats& stats() const { return stats_; }

    // epoll_wait timeout for sleeping from `now` until `deadline`: -1 for kNever, else the
    // milliseconds rounded UP (a deadline 0.2 ms away sleeps 1 ms instead of spinning at 0).
    static int timeout_ms(Instant now, Instant deadline);

private:
    struct Registration {
        FdHandler* handler;
        std::uint32_t interest;
        std::uint64_t token;  // (serial << 32) | fd, stored as epoll_event.data
    };
    class SignalDispatch;

    explicit EventLoop(UniqueFd epoll_fd);
    void dispatch_fd(std::uint64_t token, std::uint32_t epoll_events);
    void run_timers();
    void run_posted();
    void on_signal(int sig);

    UniqueFd epoll_;
    std::unordered_map<int, Registration> fds_;
    std::uint64_t next_serial_ = 1;
    TimerQueue timers_;
    std::vector<DeadlineProvider*> providers_;
    bool providers_dirty_ = false;
    std::vector<std::function<void()>> posted_;
    std::unique_ptr<SignalDispatch> signal_dispatch_;
    SignalFd signals_;
    SignalHandlers signal_handlers_;
    Instant now_{};
    bool stop_ = false;
    LoopStats stats_;
};

}  // namespace tunless::io
