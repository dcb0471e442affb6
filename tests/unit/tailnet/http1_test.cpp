#include "core/tailnet/http1.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/crypto/init.hpp"
#include "core/tailnet/capability_version.hpp"
#include "core/tailnet/early_payload.hpp"
#include "tests/support/test_rng.hpp"

using namespace tunless;
using namespace tunless::tailnet;

namespace {

ByteView sv(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string str(const Bytes& b) {
    return std::string(b.begin(), b.end());
}

ResponseHead head_of(std::string_view text) {
    auto r = parse_response_head(sv(text));
    REQUIRE(r);
    REQUIRE(r->head);
    return *r->head;
}

}  // namespace

TEST_CASE("http1: request builders") {
    REQUIRE(crypto::init());
    auto key = build_key_request("hs.example.com", kCapabilityVersion);
    REQUIRE(key);
    CHECK(*key ==
          "GET /key?v=130 HTTP/1.1\r\nHost: hs.example.com\r\nAccept: application/json\r\n"
          "Connection: close\r\n\r\n");

    Bytes init(101);
    for (std::size_t i = 0; i < init.size(); ++i) {
        init[i] = static_cast<std::uint8_t>(i * 7);
    }
    auto up = build_ts2021_upgrade_request("hs.example.com:8080", init);
    REQUIRE(up);
    // Python: base64.b64encode(bytes((i * 7) % 256 for i in range(101)))
    CHECK(*up ==
          "POST /ts2021 HTTP/1.1\r\nHost: hs.example.com:8080\r\n"
          "Upgrade: tailscale-control-protocol\r\nConnection: upgrade\r\n"
          "X-Tailscale-Handshake: "
          "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tng5+71/AMKERgfJi00O0JJUFdeZ"
          "WxzeoGIj5adpKuyucDHztXc4+rx+P8GDRQbIikwNz5FTFNaYWhvdn2Ei5KZoKeutbw=\r\n"
          "Content-Length: 0\r\n\r\n");

    auto derp = build_derp_upgrade_request("derp1.example.net");
    REQUIRE(derp);
    CHECK(*derp ==
          "GET /derp HTTP/1.1\r\nHost: derp1.example.net\r\nUpgrade: DERP\r\n"
          "Connection: Upgrade\r\n\r\n");

    CHECK_FALSE(build_key_request("", 130));
    CHECK_FALSE(build_key_request("evil\r\nX-Injected: 1", 130));
    CHECK_FALSE(build_derp_upgrade_request("a b"));
}

TEST_CASE("http1: response head parsing never swallows the upgraded stream") {
    const std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tailscale-control-protocol\r\n"
        "Connection: upgrade\r\nX-Weird:   spaced value  \r\n\r\n";
    const std::string tail = "\x02\x00\x30noise-bytes";
    const std::string all = head + tail;
    for (std::size_t n = 0; n < head.size(); ++n) {
        auto part = parse_response_head(sv(all).first(n));
        REQUIRE(part);
        CHECK(part->need_more());
        CHECK(part->consumed == 0);
    }
    auto r = parse_response_head(sv(all));
    REQUIRE(r);
    REQUIRE(r->head);
    CHECK(r->consumed == head.size());
    CHECK(r->head->status == 101);
    CHECK(r->head->reason == "Switching Protocols");
    CHECK(r->head->header("upgrade") ==
          std::optional<std::string_view>("tailscale-control-protocol"));
    CHECK(r->head->header("X-WEIRD") == std::optional<std::string_view>("spaced value"));
    CHECK_FALSE(r->head->header("Content-Length"));
    CHECK(check_upgrade_response(*r->head, kControlUpgradeToken));
    CHECK_FALSE(check_upgrade_response(*r->head, kDerpUpgradeToken));

    SUBCASE("bare LF line ends are tolerated") {
        auto lf = parse_response_head(sv("HTTP/1.1 101 OK\nUpgrade: DERP\n\nrest"));
        REQUIRE(lf);
        REQUIRE(lf->head);
        CHECK(lf->consumed == 31);
        CHECK(check_upgrade_response(*lf->head, "derp"));  // token compare is case-insensitive
    }
}

TEST_CASE("http1: upgrade refusals and malformed heads") {
    const ResponseHead denied = head_of("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\n");
    auto st = check_upgrade_response(denied, kControlUpgradeToken);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kRefused);
    CHECK(st.error().message.find("400 Bad Request") != std::string::npos);
    CHECK_FALSE(check_upgrade_response(head_of("HTTP/1.1 101 Switching\r\n\r\n"), "DERP"));
    CHECK_FALSE(
        check_upgrade_response(head_of("HTTP/1.1 101 S\r\nUpgrade: websocket\r\n\r\n"), "DERP"));

    for (std::string_view bad :
         {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20x OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
          "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
          "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "\r\n\r\n",
          "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n"}) {
        auto r = parse_response_head(sv(bad));
        CHECK_FALSE(r);
        if (!r) {
            CHECK(r.error().code == Errc::kProtocol);
        }
    }
    const std::string huge = "HTTP/1.1 200 OK\r\nX: " + std::string(kHttpMaxHeadLen, 'a');
    auto r = parse_response_head(sv(huge));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kLimitReached);
    std::string many = "HTTP/1.1 200 OK\r\n";
    for (std::size_t i = 0; i <= kHttpMaxHeaders; ++i) {
        many += "H: v\r\n";
    }
    many += "\r\n";
    CHECK_FALSE(parse_response_head(sv(many)));
}

TEST_CASE("http1: body reader - Content-Length, chunked, until close, caps") {
    SUBCASE("Content-Length stops at the declared size") {
        auto body =
            BodyReader::for_response(head_of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
        REQUIRE(body);
        auto n = body->feed(sv("hel"));
        REQUIRE(n);
        CHECK(*n == 3);
        CHECK_FALSE(body->done());
        n = body->feed(sv("loEXTRA"));
        REQUIRE(n);
        CHECK(*n == 2);
        CHECK(body->done());
        CHECK(str(body->body()) == "hello");
        CHECK(body->on_eof());
    }
    SUBCASE("chunked, any split, with extensions and trailers") {
        const std::string wire =
            "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: "
            "x\r\n\r\nNEXT";
        test::SeededRng rng(3);
        for (int round = 0; round < 20; ++round) {
            auto body = BodyReader::for_response(head_of(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"));
            REQUIRE(body);
            std::size_t at = 0;
            while (at < wire.size() && !body->done()) {
                const std::size_t n = std::min<std::size_t>(wire.size() - at, 1 + rng.uniform(6));
                auto used = body->feed(sv(wire).subspan(at, n));
                REQUIRE(used);
                at += *used;
                if (*used < n) {
                    break;
                }
            }
            CHECK(body->done());
            CHECK(str(body->body()) == "Wikipedia in\r\n\r\nchunks.");
            CHECK(wire.substr(at) == "NEXT");
        }
    }
    SUBCASE("read until close") {
        auto body = BodyReader::for_response(head_of("HTTP/1.0 200 OK\r\n\r\n"));
        REQUIRE(body);
        REQUIRE(body->feed(sv("{\"publicKey\":\"mkey:00\"}")));
        CHECK_FALSE(body->done());
        CHECK(body->on_eof());
        CHECK(body->done());
        CHECK(str(body->body()) == "{\"publicKey\":\"mkey:00\"}");
    }
    SUBCASE("no body for 204/304/1xx") {
        auto body = BodyReader::for_response(head_of("HTTP/1.1 204 No Content\r\n\r\n"));
        REQUIRE(body);
        CHECK(body->done());
    }
    SUBCASE("caps and malformed framing") {
        CHECK_FALSE(
            BodyReader::for_response(head_of("HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n")));
        CHECK_FALSE(
            BodyReader::for_response(head_of("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")));
        CHECK_FALSE(BodyReader::for_response(
            head_of("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")));
        auto close = BodyReader::for_response(head_of("HTTP/1.1 200 OK\r\n\r\n"), 10);
        REQUIRE(close);
        CHECK_FALSE(close->feed(Bytes(11, 'x')));
        auto chunked = BodyReader::for_response(
            head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 10);
        REQUIRE(chunked);
        CHECK_FALSE(chunked->feed(sv("b\r\n")));  // 11 > 10
        auto badhex = BodyReader::for_response(
            head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
        REQUIRE(badhex);
        CHECK_FALSE(badhex->feed(sv("zz\r\n")));
        auto longline = BodyReader::for_response(
            head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
        REQUIRE(longline);
        CHECK_FALSE(longline->feed(Bytes(2000, '0')));
        auto truncated =
            BodyReader::for_response(head_of("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"));
        REQUIRE(truncated);
        REQUIRE(truncated->feed(sv("ab")));
        CHECK_FALSE(truncated->on_eof());
        auto nocrlf = BodyReader::for_response(
            head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
        REQUIRE(nocrlf);
        CHECK_FALSE(nocrlf->feed(sv("1\r\nab\r\n")));
    }
}

TEST_CASE("early payload: magic + BE32 length + JSON is stripped, HTTP/2 passes") {
    const std::string json = R"({"nodeKeyChallenge":"chalpub:00"})";
    Bytes wire{0xff, 0xff, 0xff, 'T', 'S', 0, 0, 0, static_cast<std::uint8_t>(json.size())};
    wire.insert(wire.end(), json.begin(), json.end());
    const Bytes settings{0, 0, 0, 4, 0, 0, 0, 0, 0};  // an empty HTTP/2 SETTINGS frame
    wire.insert(wire.end(), settings.begin(), settings.end());
    for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
        EarlyPayloadFilter f;
        Bytes h2;
        for (std::size_t at = 0; at < wire.size(); at += chunk) {
            REQUIRE(f.feed(ByteView(wire).subspan(at, std::min(chunk, wire.size() - at)), h2));
        }
        CHECK(f.saw_early_payload());
        CHECK(h2 == settings);
        auto got = f.take_early_json();
        REQUIRE(got);
        CHECK(*got == json);
        CHECK_FALSE(f.take_early_json());
    }
    SUBCASE("without the magic, the first 9 bytes are HTTP/2's") {
        EarlyPayloadFilter f;
        Bytes h2;
        REQUIRE(f.feed(ByteView(settings).first(4), h2));
        CHECK(h2.empty());
        CHECK_FALSE(f.decided());
        REQUIRE(f.feed(ByteView(settings).subspan(4), h2));
        REQUIRE(f.feed(sv("more"), h2));
        CHECK(f.decided());
        CHECK_FALSE(f.saw_early_payload());
        CHECK(str(h2) == str(settings) + "more");
        CHECK_FALSE(f.take_early_json());
    }
    SUBCASE("longer than 64 KiB is an error, and stays one") {
        EarlyPayloadFilter f;
        Bytes h2;
        const Bytes big{0xff, 0xff, 0xff, 'T', 'S', 0, 1, 0, 1};
        CHECK_FALSE(f.feed(big, h2));
        CHECK_FALSE(f.feed(settings, h2));
        CHECK(h2.empty());
    }
}
