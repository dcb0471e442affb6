// HostResolver on a real loop. Only numeric names and "localhost" (answered from /etc/hosts):
// no test sends a DNS query anywhere (a name like "name.invalid" would go to the configured
// nameserver, which is not loopback).
#include <doctest/doctest.h>

#include <optional>
#include <vector>

#include "transports/host_resolver.hpp"

using namespace tunless;
using namespace tunless::io;

namespace {

using Answer = std::optional<Result<std::vector<IpAddress>>>;

HostResolver::Callback keep(Answer& out) {
    return [&out](Result<std::vector<IpAddress>> r) { out = std::move(r); };
}

// Runs the loop until every answer in `answers` arrived (bounded: a lost answer fails).
void run_until(EventLoop& loop, std::vector<Answer*> answers) {
    auto all = [&] {
        for (auto* a : answers) {
            if (!a->has_value()) return false;
        }
        return true;
    };
    for (int i = 0; i < 1000 && !all(); ++i) REQUIRE(loop.run_once(std::chrono::milliseconds(20)));
    REQUIRE(all());
}

}  // namespace

TEST_CASE("localhost and literals resolve on the loop, never inside submit") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    HostResolver resolver(**loop, {});
    Answer local;
    Answer literal;
    Answer v4_only;
    (void)resolver.submit("localhost", {}, keep(local));
    (void)resolver.submit("192.0.2.7", {.socket_type = HostSocketType::kDatagram}, keep(literal));
    (void)resolver.submit("localhost", {.family = HostFamily::kV4}, keep(v4_only));
    CHECK_FALSE(local.has_value());
    CHECK_FALSE(literal.has_value());
    CHECK(resolver.in_flight() == 3);
    run_until(**loop, {&local, &literal, &v4_only});
    REQUIRE(*local);
    for (const auto& a : **local) CHECK(a.is_loopback());
    REQUIRE(*literal);
    REQUIRE((*literal)->size() == 1);
    CHECK((*literal)->front().to_string() == "192.0.2.7");
    REQUIRE(*v4_only);
    for (const auto& a : **v4_only) CHECK(a.is_v4());
    CHECK(resolver.in_flight() == 0);
    CHECK(resolver.stats().lookups == 3);
    CHECK(resolver.stats().resolved == 3);
    CHECK(resolver.stats().failures == 0);
}

TEST_CASE("a name with no address of the wanted family fails with kNotFound") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    HostResolver resolver(**loop, {});
    Answer wrong_family;
    (void)resolver.submit("192.0.2.7", {.family = HostFamily::kV6}, keep(wrong_family));
    run_until(**loop, {&wrong_family});
    REQUIRE_FALSE(*wrong_family);
    CHECK(wrong_family->error().code == Errc::kNotFound);
    CHECK(resolver.stats().failures == 1);
    CHECK(resolver.stats().resolved == 0);
}

TEST_CASE("cancelled lookups never call back") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    HostResolver resolver(**loop, {});
    bool cancelled_ran = false;
    const auto id = resolver.submit("localhost", {},
                                    [&](Result<std::vector<IpAddress>>) { cancelled_ran = true; });
    Answer other;
    (void)resolver.submit("127.0.0.1", {}, keep(other));
    resolver.cancel(id);
    resolver.cancel(id);     // twice: ignored
    resolver.cancel(12345);  // unknown: ignored
    // glibc may already be running the cancelled request (gai_cancel: EAI_NOTCANCELED, seen
    // under qemu-arm); it is then kept as an orphan until glibc is done, and still counts.
    CHECK(resolver.orphans() <= 1);
    CHECK(resolver.in_flight() == 1 + resolver.orphans());
    run_until(**loop, {&other});
    CHECK(*other);
    CHECK_FALSE(cancelled_ran);
    CHECK(resolver.stats().cancelled == 1);
}

TEST_CASE("lookups beyond max_in_flight are refused with kLimitReached, later, on the loop") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    HostResolver resolver(**loop, {.max_in_flight = 1});
    Answer first;
    Answer refused;
    Answer refused_cancelled;
    (void)resolver.submit("localhost", {}, keep(first));
    (void)resolver.submit("127.0.0.1", {}, keep(refused));
    resolver.cancel(resolver.submit("127.0.0.1", {}, keep(refused_cancelled)));
    CHECK_FALSE(refused.has_value());
    CHECK(resolver.in_flight() == 1);
    run_until(**loop, {&first, &refused});
    CHECK(*first);
    REQUIRE_FALSE(*refused);
    CHECK(refused->error().code == Errc::kLimitReached);
    CHECK_FALSE(refused_cancelled.has_value());
    CHECK(resolver.stats().refused_busy == 2);
    CHECK(resolver.stats().lookups == 1);
    // Room again once the first one finished.
    Answer again;
    (void)resolver.submit("127.0.0.1", {}, keep(again));
    run_until(**loop, {&again});
    CHECK(*again);
}

TEST_CASE("destroying the resolver with lookups pending drops their callbacks") {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    bool ran = false;
    {
        HostResolver resolver(**loop, {});
        (void)resolver.submit("localhost", {}, [&](Result<std::vector<IpAddress>>) { ran = true; });
        (void)resolver.submit("127.0.0.2", {}, [&](Result<std::vector<IpAddress>>) { ran = true; });
    }
    for (int i = 0; i < 5; ++i) REQUIRE((*loop)->run_once(std::chrono::milliseconds(10)));
    CHECK_FALSE(ran);
}
