// DnsResolver against the process's lwIP stack (tests/unit/netstack NetEnv): queries leave as
// UDP packets to the DNS= server, a scripted server answers by injecting UDP packets. Covers
// literals, A/AAAA preference, spoof rejection (source, ID), cache, retries and timeout, TC,
// NXDOMAIN, cancellation and the in-flight cap.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "proxy/dns_message.hpp"
#include "proxy/dns_name_resolver.hpp"
#include "proxy/dns_resolver.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

using proxy::DnsResolver;
using proxy::DnsResolverConfig;
using proxy::FamilyPreference;

const IpAddress kServer = *IpAddress::parse("10.7.0.53");

struct Outcome {
    int calls = 0;
    std::optional<Result<IpAddress>> result;
    DnsResolver::Callback cb() {
        return [this](Result<IpAddress> r) {
            ++calls;
            result = std::move(r);
        };
    }
};

struct SentQuery {
    std::uint16_t sport = 0;
    std::uint16_t id = 0;
    std::uint16_t qtype = 0;
    Bytes message;
};

// DNS queries the resolver sent to kServer:53 since the last call.
std::vector<SentQuery> take_queries() {
    auto& env = NetEnv::get();
    auto pkts = env.take([](const ip::Parsed& p) {
        return p.proto == ipproto::kUdp && p.dst == kServer && p.udp_dport == 53;
    });
    std::vector<SentQuery> out;
    for (auto& p : pkts) {
        SentQuery q;
        q.sport = p.udp_sport;
        q.message = p.udp_payload;
        REQUIRE(q.message.size() > 16);
        q.id = load_be16(&q.message[0]);
        q.qtype = load_be16(&q.message[q.message.size() - 4]);
        out.push_back(std::move(q));
    }
    return out;
}

// The query turned into a response: QR/RA set, RCODE, and one answer pointing at the question.
Bytes answer(const SentQuery& q, std::optional<IpAddress> addr, int rcode = 0, std::uint32_t ttl = 60) {
    Bytes m = q.message;
    m[2] = static_cast<std::uint8_t>(m[2] | 0x80);
    m[3] = static_cast<std::uint8_t>(0x80 | rcode);
    if (addr) {
        m[7] = 1;
        const std::uint8_t rr[] = {0xC0, 12, 0, static_cast<std::uint8_t>(q.qtype), 0, 1,
                                   static_cast<std::uint8_t>(ttl >> 24), static_cast<std::uint8_t>(ttl >> 16),
                                   static_cast<std::uint8_t>(ttl >> 8), static_cast<std::uint8_t>(ttl), 0,
                                   static_cast<std::uint8_t>(addr->size())};
        m.insert(m.end(), std::begin(rr), std::end(rr));
        m.insert(m.end(), addr->bytes().begin(), addr->bytes().end());
    }
    return m;
}

void reply(const SentQuery& q, const Bytes& msg, std::uint16_t from_port = 53) {
    auto& env = NetEnv::get();
    REQUIRE(env.inject(ip::udp_packet(kServer, env.addr4, from_port, q.sport, msg)).has_value());
}

struct Fixture {
    NetEnv& env = NetEnv::get();
    DnsResolver resolver;
    explicit Fixture(DnsResolverConfig c = config())
        : resolver(std::move(c), NetEnv::get().stack.get(), NetEnv::get().rng,
                   [] { return NetEnv::get().clock.now_mono(); }) {
        env.sink.packets.clear();
    }
    static DnsResolverConfig config() {
        DnsResolverConfig c;
        c.servers = {kServer};
        return c;
    }
    void tick() {
        if (resolver.next_deadline() <= env.clock.now_mono()) resolver.on_timer(env.clock.now_mono());
    }
    void advance(Duration d) {
        env.clock.advance(d);
        tick();
    }
};

}  // namespace

TEST_CASE("resolver: IP literals answer without a query, and only after on_timer") {
    Fixture f;
    Outcome a, b, c;
    auto h1 = f.resolver.resolve("10.1.2.3", FamilyPreference::kPreferV4, a.cb());
    auto h2 = f.resolver.resolve("[fd00::5]", FamilyPreference::kPreferV4, b.cb());
    auto h3 = f.resolver.resolve("10.1.2.3", FamilyPreference::kOnlyV6, c.cb());
    CHECK(a.calls == 0);
    f.tick();
    REQUIRE(a.calls == 1);
    CHECK(a.result->value() == *IpAddress::parse("10.1.2.3"));
    CHECK(b.result->value() == *IpAddress::parse("fd00::5"));
    CHECK(c.result->error().code == Errc::kNotFound);
    CHECK(take_queries().empty());
    CHECK(f.resolver.stats().literals == 3);
}

TEST_CASE("resolver: A and AAAA over the mesh; preferred family wins; answer is cached") {
    Fixture f;
    Outcome out;
    auto h = f.resolver.resolve("Host.Test", FamilyPreference::kPreferV6, out.cb());
    CHECK(take_queries().empty());  // nothing leaves from inside resolve()
    f.tick();
    auto qs = take_queries();
    REQUIRE(qs.size() == 2);
    CHECK(qs[0].qtype == 28);
    CHECK(qs[1].qtype == 1);
    CHECK(qs[0].sport >= 49152);
    CHECK(qs[0].sport != qs[1].sport);
    // The A answer arrives first, but AAAA is preferred: still waiting.
    reply(qs[1], answer(qs[1], IpAddress::parse("10.9.9.9")));
    f.tick();
    CHECK(out.calls == 0);
    // Spoofs: wrong source port, then wrong ID. Both ignored.
    reply(qs[0], answer(qs[0], IpAddress::parse("fd00::bad")), 5353);
    Bytes wrong_id = answer(qs[0], IpAddress::parse("fd00::bad"));
    wrong_id[0] ^= 0xFF;
    reply(qs[0], wrong_id);
    f.tick();
    CHECK(out.calls == 0);
    CHECK(f.resolver.stats().bad_responses == 2);
    reply(qs[0], answer(qs[0], IpAddress::parse("fd00::9")));
    f.tick();
    REQUIRE(out.calls == 1);
    CHECK(out.result->value() == *IpAddress::parse("fd00::9"));

    Outcome again;
    auto h2 = f.resolver.resolve("host.test.", FamilyPreference::kPreferV4, again.cb());
    f.tick();
    CHECK(take_queries().empty());
    REQUIRE(again.calls == 1);
    CHECK(again.result->value() == *IpAddress::parse("10.9.9.9"));
    CHECK(f.resolver.stats().cache_hits == 2);
    // TTL 60 s: after it the name is asked again.
    f.advance(std::chrono::seconds(61));
    Outcome later;
    auto h3 = f.resolver.resolve("host.test", FamilyPreference::kOnlyV4, later.cb());
    f.tick();
    CHECK(take_queries().size() == 1);
}

TEST_CASE("resolver: retries with a new ID, then times out") {
    Fixture f;
    Outcome out;
    auto h = f.resolver.resolve("slow.test", FamilyPreference::kOnlyV4, out.cb());
    f.tick();
    auto first = take_queries();
    REQUIRE(first.size() == 1);
    f.advance(std::chrono::milliseconds(1999));
    CHECK(take_queries().empty());
    f.advance(std::chrono::milliseconds(1));
    auto second = take_queries();
    REQUIRE(second.size() == 1);
    CHECK(f.resolver.stats().queries_sent == 2);
    // A late answer to the first attempt is no longer accepted (its socket is closed).
    reply(first[0], answer(first[0], IpAddress::parse("10.0.0.1")));
    f.tick();
    CHECK(out.calls == 0);
    f.advance(std::chrono::seconds(2));
    CHECK(take_queries().size() == 1);
    f.advance(std::chrono::seconds(2));
    REQUIRE(out.calls == 1);
    CHECK(out.result->error().code == Errc::kTimedOut);
    CHECK(f.resolver.stats().timeouts == 1);
    CHECK(f.resolver.stats().in_flight == 0);
}

TEST_CASE("resolver: NXDOMAIN is not found and cached briefly; TC fails; SERVFAIL fails") {
    Fixture f;
    Outcome nx, tc, sf;
    auto h1 = f.resolver.resolve("nx.test", FamilyPreference::kOnlyV4, nx.cb());
    auto h2 = f.resolver.resolve("big.test", FamilyPreference::kOnlyV4, tc.cb());
    auto h3 = f.resolver.resolve("broken.test", FamilyPreference::kOnlyV4, sf.cb());
    f.tick();
    auto qs = take_queries();
    REQUIRE(qs.size() == 3);
    reply(qs[0], answer(qs[0], std::nullopt, 3));
    Bytes trunc = answer(qs[1], std::nullopt);
    trunc[2] = static_cast<std::uint8_t>(trunc[2] | 0x02);
    reply(qs[1], trunc);
    reply(qs[2], answer(qs[2], std::nullopt, 2));
    f.tick();
    CHECK(nx.result->error().code == Errc::kNotFound);
    CHECK(tc.result->error().code == Errc::kProtocol);
    CHECK(sf.result->error().code == Errc::kProtocol);
    Outcome again;
    auto h4 = f.resolver.resolve("nx.test", FamilyPreference::kOnlyV4, again.cb());
    f.tick();
    CHECK(take_queries().empty());
    CHECK(again.result->error().code == Errc::kNotFound);
}

TEST_CASE("resolver: a cancelled lookup never calls back; the in-flight cap refuses more") {
    auto c = Fixture::config();
    c.max_in_flight = 2;
    Fixture f(c);
    Outcome gone, kept, refused;
    {
        auto h = f.resolver.resolve("gone.test", FamilyPreference::kOnlyV4, gone.cb());
        f.tick();
    }
    auto h2 = f.resolver.resolve("kept.test", FamilyPreference::kOnlyV4, kept.cb());
    auto h3 = f.resolver.resolve("third.test", FamilyPreference::kOnlyV4, refused.cb());
    auto h4 = f.resolver.resolve("fourth.test", FamilyPreference::kOnlyV4, refused.cb());
    f.tick();
    auto qs = take_queries();
    REQUIRE(qs.size() == 3);  // gone, kept, third
    reply(qs[0], answer(qs[0], IpAddress::parse("10.0.0.1")));
    f.tick();
    CHECK(gone.calls == 0);
    CHECK(refused.calls == 1);
    CHECK(refused.result->error().code == Errc::kLimitReached);
    CHECK(f.resolver.stats().refused_busy == 1);
}

TEST_CASE("resolver: names that are not host names fail without a query") {
    Fixture f;
    Outcome out;
    auto h = f.resolver.resolve("bad name!", FamilyPreference::kPreferV4, out.cb());
    f.tick();
    REQUIRE(out.calls == 1);
    CHECK(out.result->error().code == Errc::kInvalidArgument);
    CHECK(take_queries().empty());
}

TEST_CASE("resolver: resolve_all lists the preferred family first, then answers already in") {
    Fixture f;
    std::optional<Result<std::vector<IpAddress>>> all;
    auto h = f.resolver.resolve_all("multi.test", FamilyPreference::kPreferV4,
                                    [&](Result<std::vector<IpAddress>> r) { all = std::move(r); });
    f.tick();
    auto qs = take_queries();
    REQUIRE(qs.size() == 2);  // A (preferred), AAAA
    reply(qs[1], answer(qs[1], IpAddress::parse("fd00::7")));
    Bytes two = answer(qs[0], IpAddress::parse("10.0.0.7"));
    // A second A record, owner by pointer to the question.
    const std::uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 8};
    two[7] = 2;
    two.insert(two.end(), std::begin(rr), std::end(rr));
    reply(qs[0], two);
    f.tick();
    REQUIRE(all.has_value());
    REQUIRE(all->has_value());
    const std::vector<IpAddress> want = {*IpAddress::parse("10.0.0.7"),
                                         *IpAddress::parse("10.0.0.8"),
                                         *IpAddress::parse("fd00::7")};
    CHECK(all->value() == want);
}

TEST_CASE("resolver: the NameResolver adapter delivers every address and cancels by id") {
    Fixture f;
    proxy::DnsNameResolver names(f.resolver, FamilyPreference::kOnlyV4);
    std::optional<Result<std::vector<IpAddress>>> got;
    int cancelled_calls = 0;
    names.resolve("adapter.test", [&](Result<std::vector<IpAddress>> r) { got = std::move(r); });
    auto dropped = names.resolve("dropped.test",
                                 [&](Result<std::vector<IpAddress>>) { ++cancelled_calls; });
    names.cancel(dropped);
    f.tick();
    auto qs = take_queries();
    REQUIRE(qs.size() == 1);  // the cancelled lookup never left
    reply(qs[0], answer(qs[0], IpAddress::parse("10.0.0.9")));
    f.tick();
    REQUIRE(got.has_value());
    REQUIRE(got->has_value());
    CHECK(got->value() == std::vector<IpAddress>{*IpAddress::parse("10.0.0.9")});
    CHECK(cancelled_calls == 0);
}

}  // namespace tunless::test
