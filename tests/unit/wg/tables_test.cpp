// The bounded helper structures of the device: index table, rate limiters, staged queue,
// inner IP header checks.
#include <doctest/doctest.h>

#include <map>

#include "core/wg/index_table.hpp"
#include "core/wg/inner_ip.hpp"
#include "core/wg/rate_limiter.hpp"
#include "core/wg/staged_queue.hpp"
#include "tests/unit/wg/wg_test_support.hpp"

namespace tunless::wg {

namespace {

// An Rng that returns the same bytes forever: every allocation after the first collides.
class StuckRng final : public Rng {
public:
    void fill(MutByteView out) override {
        for (auto& b : out) b = 0x42;
    }
};

}  // namespace

TEST_CASE("index table: random allocate/release agrees with a naive map") {
    test::SeededRng rng(11);
    IndexTable table;
    std::map<std::uint32_t, PeerId> naive;
    for (int step = 0; step < 20000; ++step) {
        const bool add = naive.size() < 50 || rng.uniform(3) != 0;
        if (add && naive.size() < 3000) {
            const PeerId peer = rng.next_u32() | 1;
            const auto idx = table.allocate(rng, peer, IndexKind::kHandshake);
            REQUIRE(idx.has_value());
            CHECK(*idx != 0);
            CHECK(naive.count(*idx) == 0);
            naive[*idx] = peer;
        } else if (!naive.empty()) {
            auto it = naive.begin();
            std::advance(it, rng.uniform(static_cast<std::uint32_t>(naive.size())));
            table.release(it->first);
            naive.erase(it);
        }
        if (step % 997 == 0) {
            for (const auto& [idx, peer] : naive) {
                const IndexEntry* e = table.find(idx);
                REQUIRE(e != nullptr);
                CHECK(e->peer == peer);
            }
        }
    }
    CHECK(table.size() == naive.size());
    for (const auto& [idx, peer] : naive) {
        const IndexEntry* e = table.find(idx);
        REQUIRE(e != nullptr);
        CHECK(e->peer == peer);
    }
    CHECK(table.find(0) == nullptr);
}

TEST_CASE("index table: collisions are retried, kinds switch, unknown indices are absent") {
    StuckRng stuck;
    IndexTable table;
    const auto first = table.allocate(stuck, 5, IndexKind::kHandshake);
    REQUIRE(first.has_value());
    CHECK_FALSE(table.allocate(stuck, 6, IndexKind::kHandshake).has_value());
    table.set_kind(*first, IndexKind::kKeypair);
    CHECK(table.find(*first)->kind == IndexKind::kKeypair);
    CHECK(table.find(*first + 1) == nullptr);
    table.release(*first + 1);  // unknown: no-op
    CHECK(table.size() == 1);
    table.release(*first);
    CHECK(table.size() == 0);
}

TEST_CASE("under-load detector: threshold per window, stays loaded briefly, override") {
    UnderLoadDetector d;
    const Instant t0 = Instant{} + 1h;
    for (std::uint32_t i = 0; i + 1 < kUnderLoadHandshakesPerSecond; ++i) {
        CHECK_FALSE(d.record(t0 + std::chrono::milliseconds(i)));
    }
    CHECK(d.record(t0 + 100ms));
    CHECK(d.under_load(t0 + 100ms + kUnderLoadAfterTime - 1ms));
    CHECK_FALSE(d.under_load(t0 + 100ms + kUnderLoadAfterTime));
    // A new window starts counting from zero.
    CHECK_FALSE(d.record(t0 + 5s));
    d.set_override(true);
    CHECK(d.under_load(t0 + 10s));
    d.set_override(false);
    CHECK_FALSE(d.under_load(t0 + 100ms));
    d.set_override(std::nullopt);
    d.set_threshold(2);
    CHECK_FALSE(d.record(t0 + 20s));
    CHECK(d.record(t0 + 20s));
}

TEST_CASE("source rate limiter: burst, refill, per-source, IPv6 per /64") {
    test::SeededRng rng(5);
    SourceRateLimiter rl(rng);
    const Instant t0 = Instant{} + 1h;
    const Endpoint a = test::endpoint("198.51.100.1:1000");
    const Endpoint a_other_port = test::endpoint("198.51.100.1:2000");
    for (std::uint32_t i = 0; i < kRateLimitBurst; ++i) CHECK(rl.allow(a, t0));
    CHECK_FALSE(rl.allow(a, t0));
    CHECK_FALSE(rl.allow(a_other_port, t0));  // per address, not per port
    CHECK(rl.allow(test::endpoint("198.51.100.2:1000"), t0));
    // One message's worth of tokens comes back after 1/20 s.
    CHECK_FALSE(rl.allow(a, t0 + 49ms));
    CHECK(rl.allow(a, t0 + 99ms));
    // IPv6: the /64 is one source.
    const Endpoint v6a = test::endpoint("[2001:db8:1:2::1]:1");
    const Endpoint v6b = test::endpoint("[2001:db8:1:2:ffff::9]:1");
    for (std::uint32_t i = 0; i < kRateLimitBurst; ++i) CHECK(rl.allow(v6a, t0));
    CHECK_FALSE(rl.allow(v6b, t0));
    CHECK(rl.allow(test::endpoint("[2001:db8:1:3::1]:1"), t0));
    // Idle entries are collected.
    CHECK(rl.size() > 0);
    CHECK(rl.allow(a, t0 + 10s));
    CHECK(rl.size() == 1);
}

TEST_CASE("source rate limiter: a full table denies new sources") {
    test::SeededRng rng(6);
    SourceRateLimiter rl(rng);
    const Instant t0 = Instant{} + 1h;
    for (std::uint32_t i = 0; i < kRateLimitTableSize; ++i) {
        Endpoint e = Endpoint::udp(IpAddress::v4(0x0a000000u + i), 1);
        REQUIRE(rl.allow(e, t0));
    }
    CHECK_FALSE(rl.allow(Endpoint::udp(IpAddress::v4(0x0b000000u), 1), t0));
    CHECK(rl.allow(Endpoint::udp(IpAddress::v4(0x0b000000u), 1), t0 + 2s));
}

TEST_CASE("staged queue keeps the newest kMaxStagedPackets and drops the oldest") {
    StagedQueue q;
    for (std::size_t i = 0; i < kMaxStagedPackets; ++i) {
        Bytes p(i + 1, static_cast<std::uint8_t>(i));
        CHECK(q.push(p));
    }
    CHECK(q.size() == kMaxStagedPackets);
    CHECK_FALSE(q.push(Bytes(3, 0xff)));  // overflow: packet 0 is gone
    CHECK(q.size() == kMaxStagedPackets);
    CHECK(q.front().size() == 2);
    CHECK(q.front()[0] == 1);
    q.pop_front();
    CHECK(q.front().size() == 3);
    CHECK(q.push(Bytes{}));  // a keepalive is an empty packet
    CHECK(q.purge() == kMaxStagedPackets);
    CHECK(q.empty());
}

TEST_CASE("inner IP parsing validates headers and reports the declared length") {
    const Bytes v4 = test::ipv4_packet("10.1.1.1", "10.2.2.2", 30);
    auto r = parse_inner_ip(v4);
    REQUIRE(r.has_value());
    CHECK(r->total_len == 50);
    CHECK(r->src == test::ip("10.1.1.1"));
    CHECK(r->dst == test::ip("10.2.2.2"));

    Bytes padded = v4;
    padded.resize(64, 0);
    REQUIRE(parse_inner_ip(padded).has_value());
    CHECK(parse_inner_ip(padded)->total_len == 50);

    const Bytes v6 = test::ipv6_packet("fd00::1", "fd00::2", 8);
    r = parse_inner_ip(v6);
    REQUIRE(r.has_value());
    CHECK(r->total_len == 48);
    CHECK(r->src == test::ip("fd00::1"));

    Bytes bad = v4;
    bad[0] = 0x44;  // IHL 4 < 5
    CHECK_FALSE(parse_inner_ip(bad).has_value());
    bad = v4;
    store_be16(bad.data() + 2, 51);  // declares more than present
    CHECK_FALSE(parse_inner_ip(bad).has_value());
    bad = v4;
    store_be16(bad.data() + 2, 19);  // shorter than the header
    CHECK_FALSE(parse_inner_ip(bad).has_value());
    bad = v4;
    bad[0] = 0x55;  // version 5
    CHECK_FALSE(parse_inner_ip(bad).has_value());
    CHECK_FALSE(parse_inner_ip(Bytes(19, 0x45)).has_value());
    CHECK_FALSE(parse_inner_ip(Bytes(39, 0x60)).has_value());
    Bytes bad6 = v6;
    store_be16(bad6.data() + 4, 9);
    CHECK_FALSE(parse_inner_ip(bad6).has_value());
    CHECK_FALSE(parse_inner_ip(Bytes{}).has_value());
}

}  // namespace tunless::wg
