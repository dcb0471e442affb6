// The data path does not allocate after warm-up: on_ip_packet (encrypt into the Outbox) and
// on_datagram (decrypt, replay check, cryptokey routing), including the common drop paths.
// This file replaces the global operator new for the whole wg_tests binary with a counting one.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>

#include "tests/unit/wg/wg_test_support.hpp"

namespace {
std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace tunless::wg {

TEST_CASE("steady-state data path: no heap allocation per packet") {
    test::Pair p;
    p.handshake('a');
    const Bytes big = p.a_to_b_packet(1380);
    const Bytes small = p.a_to_b_packet(40);
    const Bytes back = p.b_to_a_packet(1380);
    const Bytes no_route = test::ipv4_packet("192.168.0.1", "172.16.0.1", 10);
    auto round_trip = [&](const Bytes& pkt) {
        p.a.dev.on_ip_packet(p.now(), pkt, p.a.out);
        REQUIRE(p.a.out.datagrams().size() == 1);
        const ByteView d = p.a.out.datagrams()[0].bytes;
        p.b.dev.on_datagram(p.now(), p.a.ep, d, p.b.out);
        p.b.dev.on_datagram(p.now(), p.a.ep, d, p.b.out);  // replay: dropped
        REQUIRE(p.b.out.packets().size() == 1);
        p.a.out.clear();
        p.b.out.clear();
        p.b.dev.on_ip_packet(p.now(), back, p.b.out);
        p.a.dev.on_datagram(p.now(), p.b.ep, p.b.out.datagrams()[0].bytes, p.a.out);
        p.a.dev.on_ip_packet(p.now(), no_route, p.a.out);
        p.a.out.clear();
        p.b.out.clear();
    };
    const std::size_t start = g_allocations;
    for (int i = 0; i < 4; ++i) round_trip(big);  // warm-up grows the Outbox buffers
    const std::size_t before = g_allocations;
    CHECK(before > start);  // the counter does see the warm-up allocations
    for (int i = 0; i < 100; ++i) {
        round_trip(i % 2 ? big : small);
        p.clock.advance(1ms);
    }
    CHECK(g_allocations == before);
    CHECK(p.b.dev.stats().drop(DropReason::kReplayedCounter) == 104);
}

}  // namespace tunless::wg
