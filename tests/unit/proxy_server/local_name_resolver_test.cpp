// LocalNameResolver: tailnet MagicDNS names are answered from the node's own table, unknown
// names inside the tailnet's domain never reach DNS, everything else goes to the next resolver.
#include "proxy/local_name_resolver.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

using namespace tunless;

namespace {

// Records what reached "DNS" and answers each lookup on the next run_once.
class FakeNext final : public proxy::NameResolver {
public:
    explicit FakeNext(io::EventLoop& loop) : loop_(loop) {}
    RequestId resolve(std::string_view name, Callback cb) override {
        asked.emplace_back(name);
        const RequestId id = ++last_;
        loop_.post([this, id, cb = std::move(cb)] {
            if (id != cancelled) cb(std::vector<IpAddress>{*IpAddress::parse("192.0.2.1")});
        });
        return id;
    }
    void cancel(RequestId id) override { cancelled = id; }
    std::vector<std::string> asked;
    RequestId cancelled = 0;

private:
    io::EventLoop& loop_;
    RequestId last_ = 0;
};

}  // namespace

TEST_CASE("local names: table hits, in-domain misses and DNS fall-through") {
    auto loop = std::move(io::EventLoop::create().value());
    FakeNext next(*loop);
    proxy::LocalNameResolver r(*loop, next, [](std::string_view name)
                                                -> std::optional<std::vector<IpAddress>> {
        if (name == "n2" || name == "n2.tail.test") {
            return std::vector<IpAddress>{*IpAddress::parse("100.64.0.2")};
        }
        if (name.ends_with(".tail.test")) return std::vector<IpAddress>{};
        return std::nullopt;
    });
    std::vector<std::string> results;
    auto record = [&results](Result<std::vector<IpAddress>> answer) {
        results.push_back(answer ? answer->front().to_string()
                                 : std::string(errc_name(answer.error().code)));
    };
    r.resolve("n2", record);
    r.resolve("typo.tail.test", record);
    r.resolve("example.org", record);
    CHECK(results.empty());  // never inside resolve()
    for (int i = 0; i < 3; ++i) REQUIRE(loop->run_once(Duration::zero()));
    REQUIRE(results.size() == 3);
    CHECK(results[0] == "100.64.0.2");
    CHECK(results[1] == errc_name(Errc::kNotFound));
    CHECK(results[2] == "192.0.2.1");
    CHECK(next.asked == std::vector<std::string>{"example.org"});
    CHECK(r.local_answers() == 2);

    // A cancelled local lookup never calls back; cancelling a DNS lookup reaches DNS.
    results.clear();
    const auto local = r.resolve("n2.tail.test", record);
    const auto remote = r.resolve("example.net", record);
    r.cancel(local);
    r.cancel(remote);
    CHECK(next.cancelled == remote);
    for (int i = 0; i < 3; ++i) REQUIRE(loop->run_once(Duration::zero()));
    CHECK(results.empty());
}

TEST_CASE("local names: a pending answer does not outlive the resolver") {
    auto loop = std::move(io::EventLoop::create().value());
    FakeNext next(*loop);
    bool called = false;
    {
        proxy::LocalNameResolver r(*loop, next, [](std::string_view) {
            return std::optional<std::vector<IpAddress>>(std::vector<IpAddress>{});
        });
        r.resolve("x.tail.test", [&called](Result<std::vector<IpAddress>>) { called = true; });
    }
    REQUIRE(loop->run_once(Duration::zero()));
    CHECK_FALSE(called);
}
