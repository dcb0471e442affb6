// Hostile input for the UAPI text functions: deterministic mutations of valid requests and
// replies (truncation, byte flips, inserted separators) must give a verdict, never a crash or
// an out-of-bounds read (run under ASan/UBSan in the sanitizer builds).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/uapi/uapi_protocol.hpp"
#include "tests/support/test_rng.hpp"

using namespace tunless;
using namespace tunless::uapi;

namespace {

const std::vector<std::string> kSeeds = {
    "get=1\n\n",
    "get=tunless\n\n",
    "set=1\nprivate_key=" + std::string(64, 'a') + "\nlisten_port=51820\nfwmark=0\nreplace_peers=true\n"
    "public_key=" + std::string(64, 'b') + "\npreshared_key=" + std::string(64, 'c') +
        "\nendpoint=[fd00::1]:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
        "allowed_ip=10.0.0.0/8\nprotocol_version=1\nupdate_only=true\nremove=true\n\n",
    "public_key=" + std::string(64, 'b') + "\nendpoint=1.2.3.4:5\nlast_handshake_time_sec=7\n"
    "last_handshake_time_nsec=8\ntx_bytes=1\nrx_bytes=2\npersistent_keepalive_interval=3\n"
    "allowed_ip=10.0.0.1/32\nerrno=0\n\n",
};

std::uint32_t next(test::SeededRng& rng, std::uint32_t bound) {
    std::uint32_t v = 0;
    rng.fill(MutByteView(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
    return bound == 0 ? 0 : v % bound;
}

std::string mutate(test::SeededRng& rng, std::string s) {
    const char kInteresting[] = {'\n', '=', '\0', '[', ']', ':', '/', '-', '+', ' ', '\xff'};
    const int edits = 1 + static_cast<int>(next(rng, 6));
    for (int i = 0; i < edits && !s.empty(); ++i) {
        const std::size_t at = next(rng, static_cast<std::uint32_t>(s.size()));
        switch (next(rng, 4)) {
            case 0: s.resize(at); break;
            case 1: s[at] = kInteresting[next(rng, sizeof kInteresting)]; break;
            case 2: s.insert(at, 1, kInteresting[next(rng, sizeof kInteresting)]); break;
            default: s.erase(at, 1 + next(rng, 8)); break;
        }
    }
    return s;
}

// Runs every text entry point on `input`; checks the framing invariants.
void exercise(const std::string& input) {
    for (bool eof : {false, true}) {
        const Framed f = take_request(input, eof);
        CHECK(f.consumed <= input.size());
        if (f.kind == Framed::Kind::kRequest) {
            const SetParse p = parse_set(f.request.lines);
            if (p.failure) CHECK(p.failure->errno_value < 0);
        }
    }
    (void)parse_get_reply(input);
    (void)parse_pairs_reply(input);
    CHECK(reply_length(input) <= input.size());
}

}  // namespace

TEST_CASE("mutated requests and replies never crash and keep the framing invariants") {
    test::SeededRng rng(0x5eed);
    for (const std::string& seed : kSeeds) {
        exercise(seed);
        for (int i = 0; i < 2000; ++i) exercise(mutate(rng, seed));
    }
}

TEST_CASE("a mutated set request is either fully parsed or fails with a negative errno") {
    test::SeededRng rng(42);
    int failures = 0;
    for (int i = 0; i < 2000; ++i) {
        const Framed f = take_request(mutate(rng, kSeeds[2]), true);
        if (f.kind != Framed::Kind::kRequest) continue;
        const SetParse p = parse_set(f.request.lines);
        failures += p.failure ? 1 : 0;
    }
    CHECK(failures > 0);  // the mutations do reach the value parsers
}
