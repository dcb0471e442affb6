#include "tools/log/log.hpp"

#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "tools/log/syslog_writer.hpp"

namespace tunless::log {
namespace {

struct State {
    Level level = Level::kInfo;
    bool timestamps = true;
    Sink sink;
};

State& state() {
    static State s;
    return s;
}

// "2026-01-31T12:34:56.789Z" (UTC, so lines from several hosts sort together). The calendar
// arithmetic of <chrono>, not gmtime_r: glibc's gmtime_r goes through __tz_convert and links
// the time zone code (docs/embedded.md, size).
std::string timestamp() {
    using namespace std::chrono;
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    const sys_seconds t{seconds{ts.tv_sec}};
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                       ts.tv_nsec / 1'000'000);
}

void write_stderr(std::string_view line) {
    std::string out(line);
    out += '\n';
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // nowhere to report a failing log; drop the line
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace

void set_level(Level l) {
    state().level = l;
}
Level level() {
    return state().level;
}
void set_timestamps(bool on) {
    state().timestamps = on;
}
void set_sink(Sink sink) {
    state().sink = std::move(sink);
}

void use_syslog(const char* ident) {
    auto writer = std::make_shared<SyslogWriter>(ident);
    set_timestamps(false);
    set_sink([writer](Level l, std::string_view line) {
        const int prio = l == Level::kError  ? LOG_ERR
                         : l == Level::kWarn ? LOG_WARNING
                         : l == Level::kInfo ? LOG_INFO
                                             : LOG_DEBUG;
        writer->send(LOG_DAEMON | prio, line);
    });
}

const char* level_name(Level l) {
    switch (l) {
        case Level::kError: return "ERROR";
        case Level::kWarn: return "WARN";
        case Level::kInfo: return "INFO";
        case Level::kDebug: return "DEBUG";
    }
    return "?";
}

void write(Level l, std::string_view message) {
    if (!enabled(l)) {
        return;
    }
    std::string line;
    if (state().timestamps) {
        line = timestamp() + " ";
    }
    line += level_name(l);
    line += ' ';
    line += message;
    if (state().sink) {
        state().sink(l, line);
    } else {
        write_stderr(line);
    }
}

bool RateLimit::allow(Instant now) {
    if (!started_ || now - window_start_ >= interval_) {
        started_ = true;
        window_start_ = now;
        used_ = 0;
    }
    if (used_ < burst_) {
        ++used_;
        return true;
    }
    ++suppressed_;
    return false;
}

}  // namespace tunless::log
