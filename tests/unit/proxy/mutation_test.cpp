// Deterministic mutation of the seed corpora (a poor man's fuzzer that runs in every unit
// test pass): whatever the bytes, the parsers must not crash (run under ASan/UBSan in CI) and
// must keep the incremental contract, i.e. give the same answer for every split.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "proxy/http_proxy_codec.hpp"
#include "proxy/proxy_protocol.hpp"
#include "proxy/socks5_codec.hpp"
#include "tests/support/test_rng.hpp"
#include "tests/unit/proxy/codec_test_util.hpp"

using namespace tunless;
using namespace tunless::proxy;
using tunless::proxy::test::parse_every_prefix;

namespace {

constexpr std::uint64_t kSeed = 0x5EED'50C5;
constexpr int kMutantsPerFile = 150;

std::vector<Bytes> read_dir(const char* name) {
    const auto dir = std::filesystem::path(TUNLESS_SOURCE_DIR) / "fuzz" / "corpus" / name;
    std::vector<Bytes> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return files;
}

Bytes mutate(Bytes b, Rng& rng) {
    const std::uint32_t edits = 1 + rng.uniform(4);
    for (std::uint32_t i = 0; i < edits; ++i) {
        const std::uint32_t at = b.empty() ? 0 : rng.uniform(static_cast<std::uint32_t>(b.size()));
        const auto value = static_cast<std::uint8_t>(rng.next_u32());
        switch (rng.uniform(4)) {
            case 0:
                if (!b.empty()) {
                    b[at] = value;
                }
                break;
            case 1: b.insert(b.begin() + at, value); break;
            case 2:
                if (!b.empty()) {
                    b.erase(b.begin() + at);
                }
                break;
            default: b.resize(at); break;
        }
    }
    return b;
}

struct HttpResult {
    Progress progress;
    http::Fault fault;
    std::size_t consumed;
};

HttpResult feed_http(ByteView in, std::size_t cut) {
    auto parser = std::make_unique<http::RequestHeadParser>();
    auto first = parser->feed(in.first(cut));
    if (first.progress != Progress::kNeedMore) {
        return {first.progress, first.fault, first.consumed};
    }
    auto second = parser->feed(in.subspan(cut));
    if (second.progress == Progress::kDone) {
        std::array<std::uint8_t, http::kMaxForwardHeadSize> out{};
        const bool absolute = parser->head().form == http::RequestForm::kAbsolute;
        CHECK((write_forward_head(parser->head(), {}, out) > 0) == absolute);
    }
    return {second.progress, second.fault, first.consumed + second.consumed};
}

}  // namespace

TEST_CASE("mutated SOCKS5 and PROXY v2 inputs keep the prefix-parser contract") {
    tunless::test::SeededRng rng(kSeed);
    INFO("seed " << kSeed);
    auto inputs = read_dir("socks5");
    inputs.push_back(Bytes(proxy_protocol::kSignature.begin(), proxy_protocol::kSignature.end()));
    for (const Bytes& seed_input : inputs) {
        for (int i = 0; i < kMutantsPerFile; ++i) {
            const Bytes m = mutate(seed_input, rng);
            parse_every_prefix(socks5::parse_greeting, m);
            parse_every_prefix(socks5::parse_auth_request, m);
            parse_every_prefix(socks5::parse_request, m);
            parse_every_prefix(proxy_protocol::decode_v2, m);
            const auto udp = socks5::parse_udp_datagram(m);
            CHECK(udp.progress != Progress::kNeedMore);
        }
    }
}

TEST_CASE("mutated HTTP proxy requests give the same answer for any split") {
    tunless::test::SeededRng rng(kSeed);
    INFO("seed " << kSeed);
    for (const Bytes& seed_input : read_dir("http_proxy")) {
        for (int i = 0; i < kMutantsPerFile; ++i) {
            const Bytes m = mutate(seed_input, rng);
            const HttpResult whole = feed_http(m, m.size());
            const std::size_t cut = m.empty() ? 0 : rng.uniform(static_cast<std::uint32_t>(m.size()));
            const HttpResult split = feed_http(m, cut);
            CHECK(split.progress == whole.progress);
            CHECK(split.fault == whole.fault);
            if (whole.progress == Progress::kDone) {
                CHECK(split.consumed == whole.consumed);
            }
        }
    }
}
