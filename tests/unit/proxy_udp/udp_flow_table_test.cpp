// UdpFlowTable: LRU eviction at the cap (use refreshes), inactivity expiry, no expiry at 0.
#include <doctest/doctest.h>

#include "proxy/udp_flow_table.hpp"
#include "tests/support/test_rng.hpp"

namespace tunless::proxy {
namespace {

struct CountedFlow {
    explicit CountedFlow(int* live) : live_(live) { ++*live_; }
    ~CountedFlow() { --*live_; }
    int* live_;
};

FlowKey key(int n) { return FlowKey{IpAddress::v4(0x7F000001), static_cast<std::uint16_t>(n)}; }

}  // namespace

TEST_CASE("flow table: the least recently used flow is evicted at the cap") {
    test::FakeClock clock;
    int live = 0;
    UdpFlowTable<CountedFlow> t(3, Duration::zero());
    for (int i = 1; i <= 3; ++i) t.insert(key(i), std::make_unique<CountedFlow>(&live), clock.now_mono());
    CHECK(t.find(key(1), clock.now_mono()) != nullptr);  // 1 is now the most recent
    t.insert(key(4), std::make_unique<CountedFlow>(&live), clock.now_mono());
    CHECK(live == 3);
    CHECK(t.find(key(2), clock.now_mono()) == nullptr);  // 2 was the oldest
    CHECK(t.find(key(1), clock.now_mono()) != nullptr);
    CHECK(t.find(key(3), clock.now_mono()) != nullptr);
    auto s = t.stats();
    CHECK(s.active == 3);
    CHECK(s.total == 4);
    CHECK(s.evicted == 1);
    CHECK(t.next_expiry() == kNever);
    clock.advance(std::chrono::hours(1000));
    t.expire(clock.now_mono());
    CHECK(t.size() == 3);  // no timeout: flows stay (still bounded)
}

TEST_CASE("flow table: flows idle for the timeout expire, active ones stay") {
    test::FakeClock clock;
    int live = 0;
    UdpFlowTable<CountedFlow> t(10, std::chrono::seconds(30));
    t.insert(key(1), std::make_unique<CountedFlow>(&live), clock.now_mono());
    clock.advance(std::chrono::seconds(10));
    t.insert(key(2), std::make_unique<CountedFlow>(&live), clock.now_mono());
    CHECK(t.next_expiry() == clock.now_mono() + std::chrono::seconds(20));
    clock.advance(std::chrono::seconds(15));
    CHECK(t.find(key(1), clock.now_mono()) != nullptr);  // refreshed at 25 s
    CHECK(t.next_expiry() == clock.now_mono() + std::chrono::seconds(15));
    clock.advance(std::chrono::seconds(15));  // 2 idle 30 s, 1 idle 15 s
    t.expire(clock.now_mono());
    CHECK(t.size() == 1);
    CHECK(live == 1);
    CHECK(t.find(key(1), clock.now_mono()) != nullptr);
    CHECK(t.stats().expired == 1);
    t.erase(key(1));
    CHECK(live == 0);
    CHECK(t.next_expiry() == kNever);
}

TEST_CASE("flow table: a cap of 0 is treated as 1") {
    test::FakeClock clock;
    int live = 0;
    UdpFlowTable<CountedFlow> t(0, Duration::zero());
    t.insert(key(1), std::make_unique<CountedFlow>(&live), clock.now_mono());
    t.insert(key(2), std::make_unique<CountedFlow>(&live), clock.now_mono());
    CHECK(live == 1);
    CHECK(t.capacity() == 1);
}

}  // namespace tunless::proxy
