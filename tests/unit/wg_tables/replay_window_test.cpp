#include <doctest/doctest.h>

#include <cstdint>

#include "core/wg/replay_window.hpp"

using namespace tunless::wg;

namespace {

constexpr std::uint64_t kWindow = ReplayWindow::kWindowSize;  // kernel COUNTER_WINDOW_SIZE
constexpr std::uint64_t kLim = kWindow + 1;                   // kernel T_LIM
constexpr std::uint64_t kRam = ReplayWindow::kRejectAfterMessages;         // kernel REJECT_AFTER_MESSAGES

}  // namespace

TEST_CASE("window size and limit") {
    CHECK(kWindow == 8128);  // kernel: COUNTER_BITS_TOTAL (8192) - BITS_PER_LONG (64)
    CHECK(kRam == 0xffffffffffffdfffULL);  // 2^64 - 2^13 - 1 (WireGuard paper §6.1)
}

// The kernel's numbered nonce-counter self-test (wireguard-linux-compat src/selftest/counter.c,
// identical to wireguard-go replay/replay_test.go), case for case.
TEST_CASE("kernel counter self-test table") {
    struct Step {
        int n;
        std::uint64_t counter;
        bool accepted;
    };
    const Step steps[] = {
        {1, 0, true},
        {2, 1, true},
        {3, 1, false},
        {4, 9, true},
        {5, 8, true},
        {6, 7, true},
        {7, 7, false},
        {8, kLim, true},
        {9, kLim - 1, true},
        {10, kLim - 1, false},
        {11, kLim - 2, true},
        {12, 2, true},
        {13, 2, false},
        {14, kLim + 16, true},
        {15, 3, false},
        {16, kLim + 16, false},
        {17, kLim * 4, true},
        {18, kLim * 4 - (kLim - 1), true},
        {19, 10, false},
        {20, kLim * 4 - kLim, false},
        {21, kLim * 4 - (kLim + 1), false},
        {22, kLim * 4 - (kLim - 2), true},
        {23, kLim * 4 + 1 - kLim, false},
        {24, 0, false},
        {25, kRam, false},
        {26, kRam - 1, true},
        {27, kRam, false},
        {28, kRam - 1, false},
        {29, kRam - 2, true},
        {30, kRam + 1, false},
        {31, kRam + 2, false},
        {32, kRam - 2, false},
        {33, kRam - 3, true},
        {34, 0, false},
    };
    ReplayWindow w;
    for (const auto& s : steps) {
        CAPTURE(s.n);
        CAPTURE(s.counter);
        CHECK(w.validate_counter(s.counter) == s.accepted);
    }
}

TEST_CASE("kernel counter self-test: window-edge loops") {
    ReplayWindow w;
    SUBCASE("1..W then 0 is exactly W behind: accepted once") {
        for (std::uint64_t i = 1; i <= kWindow; ++i) REQUIRE(w.validate_counter(i));
        CHECK(w.validate_counter(0));
        CHECK(!w.validate_counter(0));
    }
    SUBCASE("2..W+1 then 1 accepted, 0 is W+1 behind: rejected") {
        for (std::uint64_t i = 2; i <= kWindow + 1; ++i) REQUIRE(w.validate_counter(i));
        CHECK(w.validate_counter(1));
        CHECK(!w.validate_counter(0));
    }
    SUBCASE("W..0 descending: all accepted") {
        for (std::uint64_t i = kWindow + 1; i-- > 0;) REQUIRE(w.validate_counter(i));
    }
    SUBCASE("W+1..1 descending, then 0 is out of the window") {
        for (std::uint64_t i = kWindow + 2; i-- > 1;) REQUIRE(w.validate_counter(i));
        CHECK(!w.validate_counter(0));
    }
    SUBCASE("W..1 descending, then W+1 moves forward, 0 falls out") {
        for (std::uint64_t i = kWindow + 1; i-- > 1;) REQUIRE(w.validate_counter(i));
        CHECK(w.validate_counter(kWindow + 1));
        CHECK(!w.validate_counter(0));
    }
    SUBCASE("W..1 descending, then 0, then W+1") {
        for (std::uint64_t i = kWindow + 1; i-- > 1;) REQUIRE(w.validate_counter(i));
        CHECK(w.validate_counter(0));
        CHECK(w.validate_counter(kWindow + 1));
    }
}

TEST_CASE("reordering inside the window, big jumps, reset") {
    ReplayWindow w;
    // Evens first, then odds: every counter accepted exactly once.
    for (std::uint64_t i = 0; i < 3000; i += 2) REQUIRE(w.validate_counter(i));
    for (std::uint64_t i = 1; i < 3000; i += 2) REQUIRE(w.validate_counter(i));
    for (std::uint64_t i = 0; i < 3000; ++i) REQUIRE(!w.validate_counter(i));

    // A jump of more than the ring must clear the stale bits that alias the new positions:
    // every counter of the new window is then accepted exactly once.
    const std::uint64_t far = 3000 + 10 * 8192;
    CHECK(w.validate_counter(far));
    for (std::uint64_t c = far - kWindow; c < far; ++c) REQUIRE(w.validate_counter(c));
    for (std::uint64_t c = far - kWindow; c <= far; ++c) REQUIRE(!w.validate_counter(c));
    CHECK(!w.validate_counter(far - kWindow - 1));
    // A short step forward (same ring lap) also clears only what it must.
    CHECK(w.validate_counter(far + 100));
    CHECK(!w.validate_counter(far + 100 - 128));  // seen before, still inside the window

    w.reset();
    CHECK(w.validate_counter(0));
    CHECK(w.validate_counter(5));
    CHECK(!w.validate_counter(5));
}
