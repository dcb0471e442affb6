// HTTP proxy codec: request head parsing (RFC 9112), Basic proxy auth (RFC 7617), forwarding
// rewrite (RFC 9110 §7.6) and the proxy's response heads.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "proxy/http_proxy_codec.hpp"
#include "tests/unit/proxy/codec_test_util.hpp"

using namespace tunless;
using namespace tunless::proxy;
using namespace tunless::proxy::http;
using tunless::proxy::test::bytes;

namespace {

struct Outcome {
    Progress progress = Progress::kNeedMore;
    Fault fault = Fault::kNone;
    std::size_t consumed = 0;  // over all chunks
    std::unique_ptr<RequestHeadParser> parser;

    const RequestHead& head() const { return parser->head(); }
};

// Feeds `in` in the given chunks and sums what was consumed.
Outcome feed_chunks(std::string_view in, std::initializer_list<std::size_t> cuts) {
    Outcome o;
    o.parser = std::make_unique<RequestHeadParser>();
    std::size_t at = 0;
    auto feed = [&](std::size_t end) {
        if (o.progress != Progress::kNeedMore) {
            return;
        }
        const Bytes part = bytes(in.substr(at, end - at));
        const auto step = o.parser->feed(part);
        o.progress = step.progress;
        o.fault = step.fault;
        o.consumed += step.consumed;
        at = end;
    };
    for (std::size_t cut : cuts) {
        feed(cut);
    }
    feed(in.size());
    return o;
}

// Parses `in` whole, split in two at every position, and byte by byte; all must agree.
Outcome parse(std::string_view in) {
    Outcome whole = feed_chunks(in, {});
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
        Outcome split = feed_chunks(in, {cut});
        INFO("split at " << cut);
        CHECK(split.progress == whole.progress);
        CHECK(split.fault == whole.fault);
        if (whole.progress == Progress::kDone) {
            CHECK(split.consumed == whole.consumed);
            CHECK(split.head().field_count == whole.head().field_count);
            CHECK(split.head().target == whole.head().target);
        }
    }
    Outcome trickle;
    trickle.parser = std::make_unique<RequestHeadParser>();
    for (std::size_t i = 0; i < in.size() && trickle.progress == Progress::kNeedMore; ++i) {
        const auto step = trickle.parser->feed(bytes(in.substr(i, 1)));
        trickle.progress = step.progress;
        trickle.fault = step.fault;
        trickle.consumed += step.consumed;
    }
    CHECK(trickle.progress == whole.progress);
    CHECK(trickle.fault == whole.fault);
    if (whole.progress == Progress::kDone) {
        CHECK(trickle.consumed == whole.consumed);
    }
    return whole;
}

std::string forward(const RequestHead& head, ForwardOptions options = {}) {
    std::array<std::uint8_t, kMaxForwardHeadSize> out{};
    const std::size_t n = write_forward_head(head, options, out);
    return std::string(reinterpret_cast<const char*>(out.data()), n);
}

Outcome head_with_auth(std::string_view value) {
    const std::string in = "CONNECT peer.mesh:22 HTTP/1.1\r\nHost: peer.mesh:22\r\n"
                           "Proxy-Authorization: " + std::string(value) + "\r\n\r\n";
    return feed_chunks(in, {});
}

}  // namespace

TEST_CASE("CONNECT in authority-form, as curl sends it") {
    const std::string head_text =
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
        "User-Agent: curl/7.88.1\r\nProxy-Connection: Keep-Alive\r\n\r\n";
    SUBCASE("head alone") {
        auto r = parse(head_text);
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.consumed == head_text.size());
        const RequestHead& h = r.head();
        CHECK(h.method == "CONNECT");
        CHECK(h.form == RequestForm::kAuthority);
        CHECK(h.target.to_string() == "example.com:443");
        CHECK(h.authority == "example.com:443");
        CHECK(h.framing == BodyFraming::kNone);
        CHECK(h.field_count == 3);
        CHECK(h.find("user-agent") == "curl/7.88.1");
        CHECK_FALSE(h.find("accept"));
        CHECK_FALSE(h.proxy_authorization);
    }
    SUBCASE("tunnel bytes after the head are left to the caller") {
        auto r = parse(head_text + "\x16\x03\x01");
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.consumed == head_text.size());
        auto again = r.parser->feed(bytes("more"));
        CHECK(again.progress == Progress::kDone);
        CHECK(again.consumed == 0);
    }
    SUBCASE("IP literals") {
        auto v4 = parse("CONNECT 10.0.0.1:22 HTTP/1.1\r\nHost: 10.0.0.1:22\r\n\r\n");
        REQUIRE(v4.progress == Progress::kDone);
        CHECK(v4.head().target == Target::from_ip(*IpAddress::parse("10.0.0.1"), 22));
        auto v6 = parse("CONNECT [fd00::1]:8443 HTTP/1.1\r\nHost: [fd00::1]:8443\r\n\r\n");
        REQUIRE(v6.progress == Progress::kDone);
        CHECK(v6.head().target == Target::from_ip(*IpAddress::parse("fd00::1"), 8443));
    }
    SUBCASE("HTTP/1.0 without Host, with a leading empty line, CONNECT with Content-Length 0") {
        auto r = parse("\r\nCONNECT a.b:1 HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.head().minor_version == 0);
        CHECK(r.head().target.port == 1);
    }
}

TEST_CASE("absolute-form requests are rewritten to origin-form for forwarding") {
    SUBCASE("GET with path and query") {
        auto r = parse(
            "GET http://example.com/index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
            "Accept: */*\r\nProxy-Connection: Keep-Alive\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        const RequestHead& h = r.head();
        CHECK(h.form == RequestForm::kAbsolute);
        CHECK(h.target.to_string() == "example.com:80");
        CHECK(h.path_and_query == "/index.html?q=1");
        CHECK(h.framing == BodyFraming::kNone);
        CHECK(forward(h) ==
              "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"
              "Via: 1.1 tunless\r\nConnection: close\r\n\r\n");
        CHECK(forward(h, ForwardOptions{false, false}) ==
              "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
    }
    SUBCASE("empty path becomes \"/\"; the client's Host is replaced by the target's") {
        auto r = parse("HEAD HTTP://10.1.2.3:8080 HTTP/1.1\r\nHost: evil.example\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.head().target == Target::from_ip(*IpAddress::parse("10.1.2.3"), 8080));
        CHECK(forward(r.head(), ForwardOptions{false, false}) ==
              "HEAD / HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n\r\n");
        auto q = parse("GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        REQUIRE(q.progress == Progress::kDone);
        CHECK(forward(q.head(), ForwardOptions{false, false}) ==
              "GET /?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    }
    SUBCASE("Content-Length body: framing reported and re-emitted") {
        const std::string in =
            "POST http://api.mesh:8000/v1 HTTP/1.1\r\nHost: api.mesh:8000\r\n"
            "Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
        auto r = parse(in);
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.consumed == in.size() - 5);
        CHECK(r.head().framing == BodyFraming::kContentLength);
        CHECK(r.head().content_length == 5);
        CHECK(forward(r.head(), ForwardOptions{false, true}) ==
              "POST /v1 HTTP/1.1\r\nHost: api.mesh:8000\r\nContent-Type: text/plain\r\n"
              "Content-Length: 5\r\nConnection: close\r\n\r\n");
    }
    SUBCASE("chunked body") {
        auto r = parse(
            "PUT http://h/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.head().framing == BodyFraming::kChunked);
        CHECK(forward(r.head(), ForwardOptions{false, false}) ==
              "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    }
    SUBCASE("hop-by-hop fields are removed, including those Connection lists") {
        auto r = parse(
            "GET http://h/ HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop , content-length\r\n"
            "X-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
            "Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\nProxy-Connection: close\r\n"
            "Trailer: X-Sum\r\nX-End: 2\r\nContent-Length: 0\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        // Content-Length survives although Connection names it: framing is ours to emit.
        CHECK(forward(r.head(), ForwardOptions{false, false}) ==
              "GET / HTTP/1.1\r\nHost: h\r\nTrailer: X-Sum\r\nX-End: 2\r\n"
              "Content-Length: 0\r\n\r\n");
    }
    SUBCASE("HTTP/1.0 client: forwarded as HTTP/1.1, Via records 1.0") {
        auto r = parse("GET http://h/ HTTP/1.0\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        CHECK(forward(r.head(), ForwardOptions{true, false}) ==
              "GET / HTTP/1.1\r\nHost: h\r\nVia: 1.0 tunless\r\n\r\n");
    }
    SUBCASE("HTTP/1.2 is processed as HTTP/1.1 (RFC 9110 §6.2)") {
        auto r = parse("GET http://h/ HTTP/1.2\r\nHost: h\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        CHECK(r.head().minor_version == 1);
    }
    SUBCASE("the writer refuses a buffer too small and a CONNECT head") {
        auto r = parse("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n");
        REQUIRE(r.progress == Progress::kDone);
        std::array<std::uint8_t, 20> small{};
        CHECK(write_forward_head(r.head(), {}, small) == 0);
        auto c = parse("CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n");
        REQUIRE(c.progress == Progress::kDone);
        CHECK(forward(c.head()).empty());
    }
}

TEST_CASE("bad requests map to their fault and status") {
    struct Case {
        const char* in;
        Fault fault;
        StatusCode status;
    };
    const std::string ok_line = "GET http://h/ HTTP/1.1\r\n";
    const Case cases[] = {
        {"GET http://h/ HTTP/1.1\nHost: h\n\n", Fault::kBareLf, StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\nHost: h\r\n\n", Fault::kBareLf, StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\rHost: h\r\n\r\n", Fault::kBareCr, StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", Fault::kObsFold,
         StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\nHost : h\r\n\r\n", Fault::kBadFieldName,
         StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\n: h\r\n\r\n", Fault::kBadFieldName, StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\nHost h\r\n\r\n", Fault::kBadFieldName,
         StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", Fault::kBadFieldValue,
         StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", Fault::kBadFieldValue,
         StatusCode::kBadRequest},
        {"GET  http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadRequestLine,
         StatusCode::kBadRequest},
        {"GET http://h/\r\nHost: h\r\n\r\n", Fault::kBadRequestLine, StatusCode::kBadRequest},
        {"GET http://h/ http/1.1\r\nHost: h\r\n\r\n", Fault::kBadRequestLine,
         StatusCode::kBadRequest},
        {"GET http://h/ HTTP/1.1 \r\nHost: h\r\n\r\n", Fault::kBadRequestLine,
         StatusCode::kBadRequest},
        {"\r\n\r\nGET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadRequestLine,
         StatusCode::kBadRequest},
        {"GET http://h/ HTTP/2.0\r\nHost: h\r\n\r\n", Fault::kUnsupportedVersion,
         StatusCode::kVersionNotSupported},
        {"G(T http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadMethod, StatusCode::kBadRequest},
        {" GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadMethod,
         StatusCode::kBadRequest},
        {"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kNotProxyRequest,
         StatusCode::kBadRequest},
        {"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kNotProxyRequest,
         StatusCode::kBadRequest},
        {"GET https://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kUnsupportedScheme,
         StatusCode::kBadRequest},
        {"GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kUnsupportedScheme,
         StatusCode::kBadRequest},
        {"GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget, StatusCode::kBadRequest},
        {"GET http://user:pw@h/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"GET http://h/#top HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"GET http://h%41/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget, StatusCode::kBadRequest},
        {"GET http://h:/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"GET http://[fd00::1/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"GET http://[10.0.0.1]/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"GET http://h\x80/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget, StatusCode::kBadRequest},
        {"CONNECT h:0 HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget, StatusCode::kBadRequest},
        {"CONNECT h:65536 HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"CONNECT h:+80 HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"CONNECT http://h:80/ HTTP/1.1\r\nHost: h\r\n\r\n", Fault::kBadTarget,
         StatusCode::kBadRequest},
        {"CONNECT h:1 HTTP/1.1\r\nX: y\r\n\r\n", Fault::kMissingHost, StatusCode::kBadRequest},
        {"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", Fault::kDuplicateHost,
         StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
         Fault::kBadContentLength, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 1,1\r\n\r\n",
         Fault::kBadContentLength, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 12345678901234567890\r\n\r\n",
         Fault::kBadContentLength, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
         Fault::kBadContentLength, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
         Fault::kDuplicateContentLength, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         Fault::kBadTransferEncoding, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
         Fault::kBadTransferEncoding, StatusCode::kBadRequest},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         Fault::kUnsupportedTransferEncoding, StatusCode::kNotImplemented},
        {"POST http://h/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         Fault::kUnsupportedTransferEncoding, StatusCode::kNotImplemented},
        {"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", Fault::kConnectWithBody,
         StatusCode::kBadRequest},
        {"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
         Fault::kConnectWithBody, StatusCode::kBadRequest},
        {"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nProxy-Authorization: Basic a\r\n"
         "Proxy-Authorization: Basic b\r\n\r\n",
         Fault::kDuplicateProxyAuthorization, StatusCode::kBadRequest},
    };
    for (const Case& c : cases) {
        CAPTURE(c.in);
        auto r = parse(c.in);
        REQUIRE(r.progress == Progress::kError);
        CHECK(r.fault == c.fault);
        CHECK(status_for(r.fault) == c.status);
    }
}

TEST_CASE("NUL in a field value is rejected") {
    std::string in = "GET http://h/ HTTP/1.1\r\nHost: h\r\nX: a";
    in += '\0';
    in += "b\r\n\r\n";
    auto r = parse(in);
    CHECK(r.fault == Fault::kBadFieldValue);
}

TEST_CASE("errors on the line structure are reported without waiting for the head to end") {
    auto lf = feed_chunks("GET http://h/ HTTP/1.1\n", {});
    CHECK(lf.fault == Fault::kBareLf);
    auto cr = feed_chunks("GET\rx", {});
    CHECK(cr.fault == Fault::kBareCr);
    auto after = lf.parser->feed(bytes("more"));
    CHECK(after.progress == Progress::kError);
    CHECK(after.consumed == 0);
}

TEST_CASE("head size and field count limits") {
    const std::string line = "GET http://h/ HTTP/1.1\r\nHost: h\r\n";
    SUBCASE("a head of exactly 8 KiB is accepted, one byte more is 431") {
        const std::size_t filler = kMaxHeadSize - line.size() - std::string("X: \r\n\r\n").size();
        const std::string exact = line + "X: " + std::string(filler, 'a') + "\r\n\r\n";
        REQUIRE(exact.size() == kMaxHeadSize);
        auto ok = feed_chunks(exact, {100, 5000});
        CHECK(ok.progress == Progress::kDone);
        CHECK(ok.consumed == kMaxHeadSize);
        const std::string over = line + "X: " + std::string(filler + 1, 'a') + "\r\n\r\n";
        auto big = feed_chunks(over, {100, 5000});
        CHECK(big.fault == Fault::kHeadTooLarge);
        CHECK(status_for(big.fault) == StatusCode::kFieldsTooLarge);
    }
    SUBCASE("an endless request line is 414") {
        auto r = feed_chunks("GET http://h/" + std::string(kMaxHeadSize, 'a'), {});
        CHECK(r.fault == Fault::kRequestLineTooLong);
        CHECK(status_for(r.fault) == StatusCode::kUriTooLong);
    }
    SUBCASE("64 fields are accepted, the 65th line is refused before the head ends") {
        std::string in = line;
        for (int i = 1; i < 64; ++i) {
            in += "X-" + std::to_string(i) + ": v\r\n";
        }
        auto ok = feed_chunks(in + "\r\n", {});
        REQUIRE(ok.progress == Progress::kDone);
        CHECK(ok.head().field_count == kMaxHeaderFields);
        auto too_many = feed_chunks(in + "X-65: v\r\n", {});
        CHECK(too_many.fault == Fault::kTooManyFields);
        CHECK(status_for(too_many.fault) == StatusCode::kFieldsTooLarge);
    }
}

TEST_CASE("the parser is reusable after reset()") {
    RequestHeadParser p;
    auto first = p.feed(bytes("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n"));
    REQUIRE(first.progress == Progress::kDone);
    p.reset();
    auto second = p.feed(bytes("GET http://b/ HTTP/1.1\r\nHost: b\r\n\r\n"));
    REQUIRE(second.progress == Progress::kDone);
    CHECK(p.head().form == RequestForm::kAbsolute);
    CHECK(p.head().target.to_string() == "b:80");
    p.reset();
    CHECK(p.feed(bytes("x\n")).fault == Fault::kBareLf);
}

TEST_CASE("Basic proxy authentication (RFC 7617)") {
    auto creds = Credentials::create("alice", "s3cret");
    REQUIRE(creds);
    auto check = [&](std::string_view value) {
        auto o = head_with_auth(value);
        REQUIRE(o.progress == Progress::kDone);
        return check_proxy_authorization(o.head(), *creds);
    };
    CHECK(check("Basic YWxpY2U6czNjcmV0") == AuthCheck::kOk);
    CHECK(check("basic   YWxpY2U6czNjcmV0") == AuthCheck::kOk);
    CHECK(check("Basic YWxpY2U6d3Jvbmc=") == AuthCheck::kMismatch);   // alice:wrong
    CHECK(check("Basic Ym9iOnMzY3JldA==") == AuthCheck::kMismatch);   // bob:s3cret
    CHECK(check("Basic YWxpY2U6czNjcmU=") == AuthCheck::kMismatch);   // alice:s3cre
    CHECK(check("Basic YWxpY2U=") == AuthCheck::kMismatch);           // no colon
    CHECK(check("Basic YWxpY2U6czNjcmU") == AuthCheck::kMalformed);   // padding missing
    CHECK(check("Basic YWxpY2U6czNjcmV=") == AuthCheck::kMalformed);  // non-canonical bits
    CHECK(check("Basic !!!!") == AuthCheck::kMalformed);
    CHECK(check("Basic YWxpY2U6czNjcmV0 x") == AuthCheck::kMalformed);
    CHECK(check("Basic " + std::string(1000, 'A')) == AuthCheck::kMalformed);
    CHECK(check("Basic") == AuthCheck::kMalformed);
    CHECK(check("Bearer YWxpY2U6czNjcmV0") == AuthCheck::kBadScheme);
    CHECK(check("BasicYWxpY2U6czNjcmV0") == AuthCheck::kBadScheme);

    auto none = feed_chunks("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n", {});
    REQUIRE(none.progress == Progress::kDone);
    CHECK(check_proxy_authorization(none.head(), *creds) == AuthCheck::kMissing);
}

TEST_CASE("response heads") {
    CHECK(response_head(StatusCode::kConnectionEstablished) ==
          "HTTP/1.1 200 Connection established\r\n\r\n");
    CHECK(response_head(StatusCode::kProxyAuthenticationRequired) ==
          "HTTP/1.1 407 Proxy Authentication Required\r\n"
          "Proxy-Authenticate: Basic realm=\"tunless\"\r\n"
          "Content-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK(response_head(StatusCode::kMethodNotAllowed) ==
          "HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\n"
          "Content-Length: 0\r\nConnection: close\r\n\r\n");
    const StatusCode all[] = {
        StatusCode::kBadRequest,     StatusCode::kForbidden,      StatusCode::kMethodNotAllowed,
        StatusCode::kProxyAuthenticationRequired, StatusCode::kUriTooLong,
        StatusCode::kFieldsTooLarge, StatusCode::kNotImplemented, StatusCode::kBadGateway,
        StatusCode::kServiceUnavailable, StatusCode::kGatewayTimeout,
        StatusCode::kVersionNotSupported,
    };
    for (StatusCode code : all) {
        const std::string status_line = "HTTP/1.1 " +
                                        std::to_string(static_cast<int>(code)) + " " +
                                        std::string(reason_phrase(code)) + "\r\n";
        const std::string_view head = response_head(code);
        CAPTURE(head);
        CHECK(head.substr(0, status_line.size()) == status_line);
        CHECK(head.find("Content-Length: 0\r\nConnection: close\r\n\r\n") ==
              head.size() - std::string_view("Content-Length: 0\r\nConnection: close\r\n\r\n").size());
    }
    CHECK(response_head(StatusCode::kBadGateway) ==
          "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK(response_head(StatusCode::kGatewayTimeout) ==
          "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_CASE("HTTP fault names are distinct") {
    std::vector<std::string_view> names;
    for (int f = 0; f <= static_cast<int>(Fault::kDuplicateProxyAuthorization); ++f) {
        names.emplace_back(fault_name(static_cast<Fault>(f)));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        CHECK(names[i] != "unknown");
        for (std::size_t j = 0; j < i; ++j) {
            CHECK(names[i] != names[j]);
        }
    }
}
