// tunless_log: the process log for everything above core/ (core reports through counters and
// outboxes, never logs). Lines go to stderr as "<timestamp> <LEVEL> <message>", one write(2)
// each; fmt-style formatting: log::info("{}: handshake completed", peer). Single-threaded
// like the rest of the daemon. Never pass key material: print public keys with
// crypto::public_key_short. Rate-limit anything a remote peer can trigger (debug_limited).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/time.hpp"

namespace tunless::log {

enum class Level : std::uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Messages above the level are discarded before formatting. Default: kInfo.
void set_level(Level level);
Level level();
inline bool enabled(Level l) {
    return static_cast<std::uint8_t>(l) <= static_cast<std::uint8_t>(level());
}

// Timestamps off when a supervisor (journald, syslog) adds its own. Default: on.
void set_timestamps(bool on);

// Replaces the stderr sink (tests; a future syslog sink). `line` has no trailing newline.
// An empty function restores stderr.
using Sink = std::function<void(Level level, std::string_view line)>;
void set_sink(Sink sink);

// Sends every line to the local syslog daemon (/dev/log, as "ident[pid]", facility LOG_DAEMON;
// ERROR -> LOG_ERR, WARN -> LOG_WARNING, INFO -> LOG_INFO, DEBUG -> LOG_DEBUG; see
// syslog_writer.hpp for why not syslog(3)) and turns timestamps off.
void use_syslog(const char* ident);

const char* level_name(Level level);  // "ERROR", "WARN", "INFO", "DEBUG"
// Emits one already formatted message at `level` (if enabled).
void write(Level level, std::string_view message);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::kError)) {
        write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
    }
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::kWarn)) {
        write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
    }
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::kInfo)) {
        write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
    }
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::kDebug)) {
        write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
    }
}

// At most `burst` messages per `interval`; the first message after a window in which some
// were suppressed reports how many. Time is passed in (the loop's now) so it is testable.
class RateLimit {
public:
    RateLimit(std::uint32_t burst, Duration interval) : burst_(burst), interval_(interval) {}
    // True if a message may be emitted at `now` (counts it).
    bool allow(Instant now);
    // Messages refused since the last call; resets the count.
    std::uint64_t take_suppressed() { return std::exchange(suppressed_, 0); }

private:
    std::uint32_t burst_;
    Duration interval_;
    Instant window_start_{};
    std::uint32_t used_ = 0;
    bool started_ = false;
    std::uint64_t suppressed_ = 0;
};

// Debug message for events a peer can trigger (drops, malformed input): formatted only when
// debug is on and the limiter allows it.
template <typename... Args>
void debug_limited(RateLimit& limit, Instant now, fmt::format_string<Args...> f, Args&&... args) {
    if (!enabled(Level::kDebug) || !limit.allow(now)) {
        return;
    }
    std::string msg = fmt::format(f, std::forward<Args>(args)...);
    if (const std::uint64_t n = limit.take_suppressed(); n != 0) {
        msg += fmt::format(" ({} similar messages suppressed)", n);
    }
    write(Level::kDebug, msg);
}

}  // namespace tunless::log
