// Split schedules for the proxy codec targets: where a byte stream is cut into the chunks a
// server would see arriving. Derived from the input itself (FNV-1a), so an input is its own
// reproducer and the seed files stay plain protocol streams. Plus the prefix contract every
// codec parser promises (proxy/codec_types.hpp): on a prefix of a message, a parser either
// needs more bytes or already reaches the same conclusion it reaches on the whole message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/bytes.hpp"
#include "fuzz/fuzz_input.hpp"

namespace tunless::fuzz {

// Increasing cut positions in (0, size), chunks of 1..max_chunk bytes.
inline std::vector<std::size_t> split_points(ByteView data, std::size_t max_chunk = 16) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::uint8_t b : data) h = (h ^ b) * 0x100000001b3ULL;
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0;;) {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        at += 1 + h % max_chunk;
        if (at >= data.size()) break;
        cuts.push_back(at);
    }
    return cuts;
}

// Parses `data` whole and at every cut of its split schedule; checks the prefix contract and
// returns the whole-message result.
template <typename ParseFn>
auto parse_with_prefixes(ParseFn parse, ByteView data) {
    const auto full = parse(data);
    if (full.done()) check(full.consumed > 0 && full.consumed <= data.size(), "consumed range");
    for (std::size_t cut : split_points(data)) {
        const auto part = parse(data.first(cut));
        if (part.need_more()) continue;
        check(part.progress == full.progress, "prefix verdict differs from whole message");
        if (part.done()) check(part.consumed == full.consumed, "prefix consumed differs");
        if (part.failed()) check(part.fault == full.fault, "prefix fault differs");
        break;
    }
    return full;
}

}  // namespace tunless::fuzz
