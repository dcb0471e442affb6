// Helpers for the proxy codec tests: byte builders and the "every split gives the same answer"
// check for prefix parsers (a server re-parses its buffer as bytes trickle in).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "core/base/bytes.hpp"
#include "proxy/codec_types.hpp"

namespace tunless::proxy::test {

inline Bytes bytes(std::initializer_list<int> list) {
    Bytes out;
    for (int v : list) {
        out.push_back(static_cast<std::uint8_t>(v));
    }
    return out;
}

inline Bytes bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

inline Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline std::string_view text(ByteView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline Bytes to_bytes(ByteView b) { return Bytes(b.begin(), b.end()); }

// Feeds every prefix of `in` to `parse` (a pure prefix parser) and checks the contract: each
// prefix gives kNeedMore until the first prefix that decides, and every longer prefix decides
// the same way (same progress, fault and consumed). Returns the answer for the whole input.
template <typename Fn>
auto parse_every_prefix(Fn parse, ByteView in) {
    auto final_result = parse(in);
    bool decided = false;
    for (std::size_t k = 0; k <= in.size(); ++k) {
        auto r = parse(in.first(k));
        if (!decided && r.progress == Progress::kNeedMore) {
            continue;
        }
        decided = true;
        INFO("prefix length " << k << " of " << in.size());
        CHECK(r.progress == final_result.progress);
        CHECK(r.fault == final_result.fault);
        CHECK(r.consumed == final_result.consumed);
    }
    return final_result;
}

}  // namespace tunless::proxy::test
