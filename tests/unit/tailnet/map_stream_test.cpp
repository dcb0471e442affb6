// Map stream framing: uint32 little-endian length + JSON, in arbitrary splits, bounded.
#include "core/tailnet/map_stream.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace tunless;
using namespace tunless::tailnet;

namespace {

std::string frame(const std::string& json) {
    std::string out(4, '\0');
    const auto n = static_cast<std::uint32_t>(json.size());
    for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
    return out + json;
}

ByteView bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::string> drain(MapMessageReader& r) {
    std::vector<std::string> out;
    for (;;) {
        auto m = r.next();
        REQUIRE(m);
        if (!*m) return out;
        out.emplace_back(**m);
    }
}

}  // namespace

TEST_CASE("map stream: little-endian length, every split point, several messages per feed") {
    const std::string a = R"({"KeepAlive":true})";
    const std::string b(300, 'x');  // length 300 = 2c 01 00 00: the byte order matters
    const std::string wire = frame(a) + frame(b) + frame(a);
    CHECK(static_cast<std::uint8_t>(frame(b)[0]) == 0x2c);
    CHECK(static_cast<std::uint8_t>(frame(b)[1]) == 0x01);
    for (std::size_t split = 0; split <= wire.size(); ++split) {
        MapMessageReader r;
        std::vector<std::string> got;
        REQUIRE(r.feed(bytes_of(std::string_view(wire).substr(0, split))));
        for (auto& m : drain(r)) got.push_back(m);
        REQUIRE(r.feed(bytes_of(std::string_view(wire).substr(split))));
        for (auto& m : drain(r)) got.push_back(m);
        REQUIRE(got.size() == 3);
        CHECK(got[0] == a);
        CHECK(got[1] == b);
        CHECK(got[2] == a);
        CHECK_FALSE(r.mid_message());
    }
    // One byte at a time.
    MapMessageReader r;
    std::vector<std::string> got;
    for (char c : wire) {
        REQUIRE(r.feed(bytes_of(std::string_view(&c, 1))));
        for (auto& m : drain(r)) got.push_back(m);
    }
    CHECK(got.size() == 3);
}

TEST_CASE("map stream: truncated stream is visible, oversized and zero lengths are errors") {
    MapMessageReader r(1000);
    REQUIRE(r.feed(bytes_of(frame(std::string(10, 'y')).substr(0, 7))));
    CHECK(drain(r).empty());
    CHECK(r.mid_message());

    MapMessageReader big(1000);
    const std::string header = frame(std::string(1001, 'z')).substr(0, 4);
    auto s = big.feed(bytes_of(header));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kLimitReached);
    CHECK(big.failed());
    CHECK_FALSE(big.next());                       // sticky
    CHECK_FALSE(big.feed(bytes_of(frame("{}"))));  // sticky

    MapMessageReader exact(1000);
    REQUIRE(exact.feed(bytes_of(frame(std::string(1000, 'z')))));
    CHECK(drain(exact).size() == 1);

    MapMessageReader zero;
    CHECK_FALSE(zero.feed(bytes_of(std::string(4, '\0'))));

    // The error after a good message surfaces once the good one is taken.
    MapMessageReader later(100);
    REQUIRE(later.feed(bytes_of(frame("{}") + std::string("\xff\xff\xff\xff", 4))));
    auto m = later.next();
    REQUIRE(m);
    REQUIRE(*m);
    CHECK(**m == "{}");
    CHECK_FALSE(later.next());
}

TEST_CASE("map stream: undrained input is bounded") {
    MapMessageReader r(16);
    const std::string many = frame("{}") + frame("{}") + frame("{}") + frame("{}") + frame("{}") +
                             frame("{}") + frame("{}");
    CHECK(many.size() > 2 * (16 + 4));
    auto s = r.feed(bytes_of(many));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == Errc::kLimitReached);
}
