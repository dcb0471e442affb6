#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tools/log/log.hpp"

using namespace tunless;

namespace {
struct Capture {
    Capture() {
        log::set_timestamps(false);
        log::set_sink([this](log::Level, std::string_view line) { lines.emplace_back(line); });
    }
    ~Capture() {
        log::set_sink({});
        log::set_timestamps(true);
        log::set_level(log::Level::kInfo);
    }
    std::vector<std::string> lines;
};
}  // namespace

TEST_CASE("levels filter and prefix messages; fmt formatting") {
    Capture cap;
    log::set_level(log::Level::kInfo);
    log::error("{}: handshake did not complete after {} attempts", "peer A", 5);
    log::warn("w");
    log::info("i {:>3}", 7);
    log::debug("hidden {}", 1);
    REQUIRE(cap.lines.size() == 3);
    CHECK(cap.lines[0] == "ERROR peer A: handshake did not complete after 5 attempts");
    CHECK(cap.lines[1] == "WARN w");
    CHECK(cap.lines[2] == "INFO i   7");
    log::set_level(log::Level::kDebug);
    log::debug("shown");
    CHECK(cap.lines.back() == "DEBUG shown");
    log::set_level(log::Level::kError);
    log::warn("nope");
    CHECK(cap.lines.back() == "DEBUG shown");
    CHECK_FALSE(log::enabled(log::Level::kWarn));
}

TEST_CASE("timestamps are ISO 8601 UTC with milliseconds") {
    std::vector<std::string> lines;
    log::set_sink([&](log::Level, std::string_view line) { lines.emplace_back(line); });
    log::info("x");
    log::set_sink({});
    REQUIRE(lines.size() == 1);
    const std::string& l = lines[0];
    REQUIRE(l.size() == 24 + 1 + 6);
    CHECK(l[4] == '-');
    CHECK(l[10] == 'T');
    CHECK(l[19] == '.');
    CHECK(l[23] == 'Z');
    CHECK(l.substr(24) == " INFO x");
}

TEST_CASE("rate-limited debug: burst per interval, then a suppressed count") {
    Capture cap;
    log::set_level(log::Level::kDebug);
    log::RateLimit limit(2, std::chrono::seconds(10));
    const Instant t0 = Instant{} + std::chrono::hours(1);
    for (int i = 0; i < 5; ++i) {
        log::debug_limited(limit, t0 + std::chrono::seconds(i), "drop {}", i);
    }
    REQUIRE(cap.lines.size() == 2);
    CHECK(cap.lines[1] == "DEBUG drop 1");
    log::debug_limited(limit, t0 + std::chrono::seconds(10), "drop {}", 10);
    REQUIRE(cap.lines.size() == 3);
    CHECK(cap.lines[2] == "DEBUG drop 10 (3 similar messages suppressed)");
    // With debug off nothing is formatted or counted.
    log::set_level(log::Level::kInfo);
    log::debug_limited(limit, t0 + std::chrono::seconds(11), "x");
    CHECK(cap.lines.size() == 3);
}
