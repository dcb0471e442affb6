// The seed corpora in fuzz/corpus/{socks5,http_proxy} must stay valid inputs, so fuzzing starts
// from requests that reach the deep paths. SOCKS5 files are a client's byte stream (greeting,
// RFC 1929 auth when 0x02 is offered, request, then any early data); HTTP files are a request
// head plus any body or tunnel bytes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "proxy/http_proxy_codec.hpp"
#include "proxy/socks5_codec.hpp"

using namespace tunless;
using namespace tunless::proxy;

namespace {

std::vector<std::pair<std::string, Bytes>> read_corpus(const char* name) {
    const auto dir = std::filesystem::path(TUNLESS_SOURCE_DIR) / "fuzz" / "corpus" / name;
    std::vector<std::pair<std::string, Bytes>> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        files.emplace_back(entry.path().filename().string(),
                           Bytes(std::istreambuf_iterator<char>(in), {}));
    }
    return files;
}

}  // namespace

TEST_CASE("SOCKS5 seed corpus: every file is a complete, valid client stream") {
    const auto files = read_corpus("socks5");
    CHECK(files.size() >= 8);
    for (const auto& [name, data] : files) {
        CAPTURE(name);
        ByteView rest = data;
        auto g = socks5::parse_greeting(rest);
        REQUIRE(g.done());
        rest = rest.subspan(g.consumed);
        const bool password = g.value.offers(socks5::Method::kUserPass);
        CHECK(socks5::select_method(g.value, password) != socks5::Method::kNoAcceptable);
        if (password) {
            auto a = socks5::parse_auth_request(rest);
            REQUIRE(a.done());
            rest = rest.subspan(a.consumed);
        }
        auto r = socks5::parse_request(rest);
        REQUIRE(r.done());
    }
}

TEST_CASE("HTTP proxy seed corpus: every file holds a complete, valid request head") {
    const auto files = read_corpus("http_proxy");
    CHECK(files.size() >= 8);
    for (const auto& [name, data] : files) {
        CAPTURE(name);
        http::RequestHeadParser parser;
        const auto step = parser.feed(data);
        REQUIRE(step.progress == Progress::kDone);
        if (parser.head().form == http::RequestForm::kAbsolute) {
            std::array<std::uint8_t, http::kMaxForwardHeadSize> out{};
            CHECK(http::write_forward_head(parser.head(), {}, out) > 0);
        }
    }
}
