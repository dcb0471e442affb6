#include <doctest/doctest.h>

#include "core/crypto/tai64n.hpp"
#include "tests/unit/crypto/hex.hpp"

using namespace tunless;
using namespace tunless::crypto;
using test::hex;

TEST_CASE("TAI64N layout: BE64(2^62 + 10 + unix seconds) || BE32(nanoseconds whitened)") {
    // wireguard-go tai64n.go: base = 0x400000000000000a, nano &^ (0x1000000 - 1).
    const Tai64n t = tai64n_from_wall(WallTime{1'700'000'000, 123'456'789});
    // 1'700'000'000 = 0x6553f100; 123'456'789 = 0x075bcd15 -> 0x07000000 after whitening.
    CHECK(hex(t) == "40000000" "6553f10a" "07000000");
    CHECK(hex(tai64n_from_wall(WallTime{0, 0})) == "400000000000000a00000000");
    CHECK(hex(tai64n_from_wall(WallTime{0, 999'999'999})) == "400000000000000a3b000000");
}

TEST_CASE("TAI64N ordering and the 2^24 ns granularity") {
    const auto a = tai64n_from_wall(WallTime{1'700'000'000, 0});
    const auto same_bucket = tai64n_from_wall(WallTime{1'700'000'000, (1u << 24) - 1});
    const auto next_bucket = tai64n_from_wall(WallTime{1'700'000'000, 1u << 24});
    const auto next_second = tai64n_from_wall(WallTime{1'700'000'001, 0});
    CHECK(a == same_bucket);
    CHECK(!tai64n_after(same_bucket, a));
    CHECK(tai64n_after(next_bucket, a));
    CHECK(!tai64n_after(a, next_bucket));
    CHECK(tai64n_after(next_second, next_bucket));
    CHECK(!tai64n_after(a, a));
}
