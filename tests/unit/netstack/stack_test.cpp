// Stack: ICMP/ICMPv6 echo answered by lwIP itself, garbage input counted and survived, timers.
#include <doctest/doctest.h>

#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

auto icmp_from(const IpAddress& src, const IpAddress& dst) {
    return [src, dst](const ip::Parsed& p) {
        return (p.proto == ipproto::kIcmp4 || p.proto == ipproto::kIcmp6) && p.src == src &&
               p.dst == dst;
    };
}

void check_echo(const IpAddress& ours, const IpAddress& peer, std::uint8_t reply_type) {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    const Bytes payload = pattern(56, 7);
    REQUIRE(env.inject(ip::echo_request(peer, ours, 0x1234, 9, payload)).has_value());
    auto replies = env.take(icmp_from(ours, peer));
    REQUIRE(replies.size() == 1);
    const auto& r = replies[0];
    CHECK(r.icmp_type == reply_type);
    CHECK(r.icmp_code == 0);
    CHECK(r.icmp_ident == 0x1234);
    CHECK(r.icmp_seq == 9);
    CHECK(r.icmp_payload == payload);
    CHECK(r.ip_checksum_ok);
    CHECK(r.transport_checksum_ok);
}

}  // namespace

TEST_CASE("stack: ICMP echo to the IPv4 node address is answered by lwIP") {
    auto& env = NetEnv::get();
    check_echo(env.addr4, env.peer4, 0);
}

TEST_CASE("stack: ICMPv6 echo to the IPv6 node address is answered (no DAD, no NDP)") {
    auto& env = NetEnv::get();
    check_echo(env.addr6, env.peer6, 129);
}

TEST_CASE("stack: trailing padding after the IP length (WireGuard pads) is trimmed") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    Bytes pkt = ip::echo_request(env.peer4, env.addr4, 7, 1, text("padme"));
    pkt.resize(pkt.size() + 11, 0);
    REQUIRE(env.inject(pkt).has_value());
    auto replies = env.take(icmp_from(env.addr4, env.peer4));
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].icmp_payload == text("padme"));
}

TEST_CASE("stack: the heap budget (StackConfig::heap_limit_bytes) is enforced") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    CHECK(env.stack->config().heap_limit_bytes == net::StackConfig::kDefaultHeapLimitBytes);
    const auto before = env.stack->stats();
    // Exactly what is in use: every new lwIP allocation is refused.
    env.stack->set_heap_limit_bytes(before.lwip.heap_used_bytes);
    auto st = env.inject(ip::echo_request(env.peer4, env.addr4, 3, 3, text("full")));
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code == Errc::kLimitReached);
    RecordingTcpHandler handler;
    auto c = net::TcpConnection::connect(*env.stack, env.peer4, 449, handler);
    REQUIRE_FALSE(c.has_value());  // no memory for a pcb: a clean refusal, nothing killed
    CHECK(c.error().code == Errc::kLimitReached);
    const auto after = env.stack->stats();
    CHECK(after.dropped[static_cast<std::size_t>(net::InjectDrop::kNoMemory)] ==
          before.dropped[static_cast<std::size_t>(net::InjectDrop::kNoMemory)] + 1);
    CHECK(after.heap_budget_refusals > before.heap_budget_refusals);
    CHECK(after.lwip.heap_used_bytes <= before.lwip.heap_used_bytes);
    CHECK(after.tcp_connections == before.tcp_connections);
    CHECK(env.sink.packets.empty());
    // Restored: the same packet is answered again.
    env.stack->set_heap_limit_bytes(net::StackConfig::kDefaultHeapLimitBytes);
    check_echo(env.addr4, env.peer4, 0);
}

TEST_CASE("stack: the budget's reserve keeps ACK-sized packets flowing when data fills it") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    const auto before = env.stack->stats();
    // Inside the reserve: only allocations of at most kHeapReserveMaxAlloc bytes still fit.
    env.stack->set_heap_limit_bytes(before.lwip.heap_used_bytes +
                                    net::StackConfig::kHeapReserveBytes / 2);
    const Bytes big = ip::echo_request(env.peer4, env.addr4, 4, 4, pattern(1200, 1));
    auto st = env.inject(big);
    REQUIRE_FALSE(st.has_value());  // a data-sized packet: dropped, counted
    CHECK(st.error().code == Errc::kLimitReached);
    CHECK(env.sink.packets.empty());
    check_echo(env.addr4, env.peer4, 0);  // a small one (56 bytes) is still answered
    CHECK(env.stack->stats().dropped[static_cast<std::size_t>(net::InjectDrop::kNoMemory)] ==
          before.dropped[static_cast<std::size_t>(net::InjectDrop::kNoMemory)] + 1);
    env.stack->set_heap_limit_bytes(net::StackConfig::kDefaultHeapLimitBytes);
    REQUIRE(env.inject(big).has_value());
    CHECK(env.take(icmp_from(env.addr4, env.peer4)).size() == 1);
}

TEST_CASE("stack: packets for other addresses are not answered and are counted by lwIP") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    const auto before = env.stack->stats().lwip.ip4_drops;
    const IpAddress elsewhere = *IpAddress::parse("10.7.0.99");
    REQUIRE(env.inject(ip::echo_request(env.peer4, elsewhere, 1, 1, text("x"))).has_value());
    CHECK(env.sink.packets.empty());
    CHECK(env.stack->stats().lwip.ip4_drops == before + 1);
}

TEST_CASE("stack: malformed packets are named, counted drops") {
    auto& env = NetEnv::get();
    env.sink.packets.clear();
    using net::InjectDrop;
    auto count = [&](InjectDrop d) {
        return env.stack->stats().dropped[static_cast<std::size_t>(d)];
    };
    const auto empty = count(InjectDrop::kEmpty);
    const auto short_ = count(InjectDrop::kTooShort);
    const auto version = count(InjectDrop::kBadVersion);
    const auto large = count(InjectDrop::kTooLarge);

    CHECK_FALSE(env.inject(Bytes{}).has_value());
    CHECK_FALSE(env.inject(Bytes{0x45}).has_value());
    CHECK_FALSE(env.inject(Bytes(39, 0x60)).has_value());
    CHECK_FALSE(env.inject(Bytes(40, 0x50)).has_value());
    CHECK_FALSE(env.inject(Bytes(70000, 0x45)).has_value());

    CHECK(count(InjectDrop::kEmpty) == empty + 1);
    CHECK(count(InjectDrop::kTooShort) == short_ + 2);
    CHECK(count(InjectDrop::kBadVersion) == version + 1);
    CHECK(count(InjectDrop::kTooLarge) == large + 1);
    CHECK(env.sink.packets.empty());
}

TEST_CASE("stack: broken IPv4/IPv6 headers reach lwIP and are dropped by it") {
    auto& env = NetEnv::get();
    const auto before = env.stack->stats();
    Bytes good = ip::echo_request(env.peer4, env.addr4, 1, 1, text("abcd"));
    Bytes bad_ihl = good;
    bad_ihl[0] = 0x41;  // IHL 4 words < 20 bytes
    Bytes long_total = good;
    store_be16(long_total.data() + 2, 1000);  // claims more than it carries
    Bytes v6_long = ip::echo_request(env.peer6, env.addr6, 1, 1, text("abcd"));
    store_be16(v6_long.data() + 4, 999);
    for (const Bytes* p : {&bad_ihl, &long_total, &v6_long}) {
        CHECK(env.inject(*p).has_value());  // lwIP accepts ownership, then drops
    }
    const auto after = env.stack->stats();
    CHECK(after.lwip.ip4_drops >= before.lwip.ip4_drops + 2);
    CHECK(after.lwip.ip6_drops >= before.lwip.ip6_drops + 1);
    env.sink.packets.clear();
}

TEST_CASE("stack: random garbage never crashes and every packet is accounted for") {
    auto& env = NetEnv::get();
    SeededRng rng(7);
    const auto before = env.stack->stats();
    constexpr int kPackets = 3000;
    for (int i = 0; i < kPackets; ++i) {
        Bytes pkt(1 + rng.uniform(1500));
        rng.fill(pkt);
        // Bias towards headers lwIP parses: version 4/6, sane IHL, our addresses.
        if (i % 2 == 0 && pkt.size() >= 40) {
            const bool v4 = (i % 4) == 0;
            const Bytes& hdr = v4 ? ip::echo_request(env.peer4, env.addr4, 1, 1, {})
                                  : ip::echo_request(env.peer6, env.addr6, 1, 1, {});
            std::copy_n(hdr.begin(), v4 ? 20 : 40, pkt.begin());
            if (v4) {
                pkt[9] = static_cast<std::uint8_t>(std::array<int, 4>{1, 6, 17, 99}[i % 16 / 4]);
                store_be16(pkt.data() + 2, static_cast<std::uint16_t>(pkt.size()));
            } else {
                pkt[6] = static_cast<std::uint8_t>(std::array<int, 5>{58, 6, 17, 44, 0}[i % 5]);
                store_be16(pkt.data() + 4, static_cast<std::uint16_t>(pkt.size() - 40));
            }
        }
        (void)env.inject(pkt);
        if (i % 100 == 0) {
            env.advance(std::chrono::milliseconds(500));
        }
    }
    const auto after = env.stack->stats();
    CHECK(after.injected_packets - before.injected_packets == kPackets);
    CHECK(after.delivered_packets + after.dropped_total() ==
          after.injected_packets);
    env.advance(std::chrono::seconds(10));  // let reassembly buffers expire
    env.sink.packets.clear();
}

TEST_CASE("stack: timers run from the injected clock only") {
    auto& env = NetEnv::get();
    const Instant now = env.clock.now_mono();
    CHECK(env.stack->next_deadline() != kNever);  // lwIP's housekeeping is never dropped
    env.advance(std::chrono::seconds(2));
    CHECK(env.stack->now() == env.clock.now_mono());
    CHECK(env.stack->next_deadline() > now);
}

TEST_CASE("stack: every pcb eventually dies, then an idle stack wakes twice a minute") {
    auto& env = NetEnv::get();
    // Earlier tests leave TIME_WAIT/FIN_WAIT pcbs whose peers went silent; lwIP must free them
    // all on its own (retransmission limits, TIME_WAIT), after which the deadline relaxes.
    auto idle = [&] { return env.stack->next_deadline() - env.clock.now_mono() > 20s; };
    for (int minute = 0; minute < 120 && !idle(); ++minute) {
        env.advance(std::chrono::minutes(1));
    }
    REQUIRE(idle());
    CHECK(env.stack->next_deadline() - env.clock.now_mono() <= 30s);
    env.sink.packets.clear();

    // Traffic that needs a timer brings the 1 s / 100 ms ticks back at once.
    REQUIRE(env.inject(ip::ipv4_fragments(
                           ip::udp_packet(env.peer4, env.addr4, 1, 7, pattern(3000)), 1400)[0])
                .has_value());
    CHECK(env.stack->next_deadline() - env.clock.now_mono() <= 1s);
    env.advance(std::chrono::seconds(10));  // the lone fragment expires
    CHECK(idle());
}

TEST_CASE("stack: a second Stack cannot be configured with bad addresses or MTU") {
    // Validation runs before the one-per-process check, so these do not abort.
    auto& env = NetEnv::get();
    net::StackConfig none;
    CHECK(net::Stack::create(none, env.sink, env.rng, env.clock.now_mono()).error().code ==
          Errc::kInvalidArgument);
    net::StackConfig two_v4;
    two_v4.addresses = {*IpAddress::parse("10.0.0.1"), *IpAddress::parse("10.0.0.2")};
    CHECK(net::Stack::create(two_v4, env.sink, env.rng, env.clock.now_mono()).error().code ==
          Errc::kUnsupported);
    net::StackConfig small_mtu;
    small_mtu.addresses = {*IpAddress::parse("fd00::1")};
    small_mtu.mtu = 1200;
    CHECK(net::Stack::create(small_mtu, env.sink, env.rng, env.clock.now_mono()).error().code ==
          Errc::kInvalidArgument);
}

}  // namespace tunless::test

namespace tunless::test {

// A tailnet node learns its addresses from control after the stack is up.
TEST_CASE("stack: set_addresses moves the node to new addresses at run time") {
    auto& env = NetEnv::get();
    const IpAddress new4 = *IpAddress::parse("100.64.0.7");
    const IpAddress new6 = *IpAddress::parse("fd7a:115c:a1e0::7");
    REQUIRE(env.stack->set_addresses({new4, new6}));
    env.sink.packets.clear();
    REQUIRE(env.inject(ip::echo_request(env.peer4, env.addr4, 1, 1, text("old"))));
    CHECK(env.take([](const ip::Parsed&) { return true; }).empty());  // old address is gone
    check_echo(new4, env.peer4, 0);
    check_echo(new6, env.peer6, 129);
    CHECK(env.stack->set_addresses({new4, *IpAddress::parse("100.64.0.8")}).error().code ==
          Errc::kUnsupported);
    REQUIRE(env.stack->set_addresses({}));  // none: nothing answers
    env.sink.packets.clear();
    REQUIRE(env.inject(ip::echo_request(env.peer4, new4, 1, 2, text("none"))));
    CHECK(env.take([](const ip::Parsed&) { return true; }).empty());
    REQUIRE(env.stack->set_addresses({env.addr4, env.addr6}));  // back for the other tests
    check_echo(env.addr4, env.peer4, 0);
    check_echo(env.addr6, env.peer6, 129);
}

}  // namespace tunless::test
