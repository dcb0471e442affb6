// lookup() and validate_counter() run per packet and must not touch the heap. This file
// replaces the global operator new for the whole wg_tables_tests binary with a counting one.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>

#include "core/wg/allowed_ips.hpp"
#include "core/wg/replay_window.hpp"

namespace {
std::size_t g_allocations = 0;
}

void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace tunless;
using namespace tunless::wg;

TEST_CASE("per-packet table operations do not allocate") {
    AllowedIps t;
    t.insert(*IpPrefix::parse("10.0.0.0/8"), 1);
    t.insert(*IpPrefix::parse("10.1.2.0/24"), 2);
    t.insert(*IpPrefix::parse("fd00::/8"), 3);
    const IpAddress v4 = *IpAddress::parse("10.1.2.3");
    const IpAddress v6 = *IpAddress::parse("fd00::1");
    const IpAddress none = *IpAddress::parse("192.0.2.1");
    ReplayWindow w;

    const std::size_t before = g_allocations;
    const auto a = t.lookup(v4);
    const auto b = t.lookup(v6);
    const auto c = t.lookup(none);
    bool fresh = true;
    for (std::uint64_t i = 0; i < 10000; i += 3) fresh = w.validate_counter(i) && fresh;
    const bool replay = w.validate_counter(3);
    const std::size_t after = g_allocations;

    // The counter itself works (so this test can fail): call operator new directly, since a
    // new-expression may be elided by the optimiser.
    void* heap = ::operator new(16);
    const std::size_t probe = g_allocations;
    ::operator delete(heap);
    CHECK(probe == after + 1);

    CHECK(a == 2u);
    CHECK(b == 3u);
    CHECK(!c);
    CHECK(fresh);
    CHECK(!replay);
    CHECK(after == before);
}
