// H2Client against a real nghttp2 server session in memory (h2_test_server.hpp), so both
// directions are genuine HTTP/2 (HPACK with Huffman and the dynamic table, flow control,
// RST_STREAM, GOAWAY, PING).
#include "core/tailnet/h2_client.hpp"

#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "tests/support/test_rng.hpp"
#include "tests/unit/tailnet/h2_test_server.hpp"

using namespace tunless;
using namespace tunless::tailnet;
using tunless::test::H2TestServer;

namespace {

std::string text(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }
Bytes bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Records everything a stream reports; optionally consumes each chunk at once.
struct Recorder : H2StreamHandler {
    H2Client* client = nullptr;  // set to consume automatically
    std::int32_t id = 0;
    int status = 0;
    int head_calls = 0;
    H2Headers headers;
    std::string body;
    int closes = 0;
    bool data_after_close = false;
    Status result;

    void on_response_headers(int s, const H2Headers& h) override {
        status = s;
        headers = h;
        ++head_calls;
    }
    void on_data(ByteView chunk) override {
        data_after_close = data_after_close || closes > 0;
        body += text(chunk);
        if (client) client->consume(id, chunk.size());
    }
    void on_close(const Status& r) override {
        ++closes;
        result = r;
    }
    std::string header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n == name) return v;
        }
        return {};
    }
};

// Shuttles bytes both ways until neither side has anything to say. Returns the client's
// first on_bytes error, if any.
Status exchange(H2Client& c, H2TestServer& srv, Bytes* server_output = nullptr) {
    Status first;
    for (int round = 0; round < 10000; ++round) {
        Bytes up;
        while (c.wants_output()) {
            const std::size_t before = up.size();
            c.take_output(up);
            if (up.size() == before) break;
        }
        if (!up.empty()) REQUIRE(srv.feed(up) == static_cast<int>(up.size()));
        Bytes down = srv.take();
        if (server_output) server_output->insert(server_output->end(), down.begin(), down.end());
        if (!down.empty()) {
            Status st = c.on_bytes(down);
            if (!st && first) first = st;
        }
        if (up.empty() && down.empty()) return first;
    }
    FAIL("exchange did not settle");
    return first;
}

std::unique_ptr<H2Client> make_client(H2Limits limits = {}) {
    auto c = H2Client::create(limits);
    REQUIRE(c);
    return std::move(*c);
}

// Lengths of the HEADERS frame payloads in a server byte stream (after its SETTINGS).
std::vector<std::size_t> header_block_sizes(ByteView stream) {
    std::vector<std::size_t> sizes;
    for (std::size_t at = 0; at + 9 <= stream.size();) {
        const std::size_t len =
            (std::size_t{stream[at]} << 16) | (stream[at + 1] << 8) | stream[at + 2];
        if (stream[at + 3] == NGHTTP2_HEADERS) sizes.push_back(len);
        at += 9 + len;
    }
    return sizes;
}

const H2Headers kJsonHeaders = {{"Content-Type", "application/json"}, {"Ts-Lb", "nodekey:ab"}};

}  // namespace

TEST_CASE("h2 client: POST with a JSON body, 200 response with body; preface and ACKs") {
    auto c = make_client();
    H2TestServer srv;
    Recorder r;
    const std::string json = R"({"Version":68,"NodeKey":"nodekey:00"})";
    auto id =
        c->submit("POST", "/machine/register", "control.example", kJsonHeaders, bytes(json), r);
    REQUIRE(id);
    CHECK(*id == 1);
    CHECK(c->open_streams() == 1);
    REQUIRE(exchange(*c, srv));

    const auto& req = srv.requests[1];
    CHECK(req.complete);
    CHECK(req.body == json);
    CHECK(req.header(":method") == "POST");
    CHECK(req.header(":scheme") == "https");
    CHECK(req.header(":path") == "/machine/register");
    CHECK(req.header(":authority") == "control.example");
    CHECK(req.header("content-type") == "application/json");
    CHECK(req.header("ts-lb") == "nodekey:ab");
    CHECK(req.header("content-length") == std::to_string(json.size()));
    CHECK(srv.settings_acks == 1);  // the server's SETTINGS were acknowledged

    srv.informational(1, "103");  // skipped: only the final head reaches the handler
    srv.respond(1, "200", {{"content-type", "application/json"}, {"x-extra", "1"}},
                R"({"MachineAuthorized":true})");
    srv.ping();
    REQUIRE(exchange(*c, srv));
    CHECK(srv.ping_acks == 1);  // nghttp2 answers PING by itself
    CHECK(r.head_calls == 1);
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("x-extra") == "1");
    CHECK(r.body == R"({"MachineAuthorized":true})");
    CHECK(r.closes == 1);
    CHECK(r.result);
    CHECK(c->open_streams() == 0);
    CHECK(c->is_alive());
}

TEST_CASE("h2 client: HPACK Huffman and dynamic table in the server's response headers") {
    auto c = make_client();
    H2TestServer srv;
    Recorder a, b;
    const H2Headers resp = {{"content-type", "application/json; charset=utf-8"},
                            {"date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                            {"x-request-id", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}};
    REQUIRE(c->submit("POST", "/machine/map", "h", kJsonHeaders, bytes("{}"), a));
    REQUIRE(exchange(*c, srv));
    Bytes first, second;
    srv.respond(1, "200", resp, "x");
    REQUIRE(exchange(*c, srv, &first));
    REQUIRE(c->submit("POST", "/machine/map", "h", kJsonHeaders, bytes("{}"), b));
    REQUIRE(exchange(*c, srv));
    srv.respond(3, "200", resp, "y");
    REQUIRE(exchange(*c, srv, &second));

    // Huffman: the literal text is not on the wire. Dynamic table: the repeat is tiny.
    const std::string wire = text(first);
    CHECK(wire.find("application/json") == std::string::npos);
    CHECK(wire.find("aaaaaaaa") == std::string::npos);
    const auto s1 = header_block_sizes(first);
    const auto s2 = header_block_sizes(second);
    REQUIRE(s1.size() == 1);
    REQUIRE(s2.size() == 1);
    CHECK(s2[0] < 8);
    CHECK(s1[0] > 40);
    for (Recorder* r : {&a, &b}) {
        CHECK(r->status == 200);
        CHECK(r->headers == resp);
        CHECK(r->result);
    }
}

TEST_CASE("h2 client: an endless long poll keeps flowing while another stream completes") {
    H2Limits lim;
    lim.stream_window = 16 * 1024;  // far below what the long poll carries: consume() matters
    auto c = make_client(lim);
    H2TestServer srv;
    Recorder poll, reg;
    poll.client = c.get();
    auto pid =
        c->submit("POST", "/machine/map", "h", kJsonHeaders, bytes(R"({"Stream":true})"), poll);
    REQUIRE(pid);
    poll.id = *pid;
    REQUIRE(exchange(*c, srv));
    srv.respond(*pid, "200", {}, {}, /*end=*/false);
    REQUIRE(exchange(*c, srv));
    CHECK(poll.status == 200);

    auto rid = c->submit("POST", "/machine/register", "h", kJsonHeaders, bytes("{}"), reg);
    REQUIRE(rid);
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        const std::string msg(1000, static_cast<char>('a' + i % 26));
        expected += msg;
        srv.push(*pid, msg);
        if (i == 150) {
            REQUIRE(exchange(*c, srv));
            srv.respond(*rid, "200", {}, "done");
        }
        REQUIRE(exchange(*c, srv));
    }
    CHECK(reg.result);
    CHECK(reg.body == "done");
    CHECK(reg.closes == 1);
    CHECK(poll.closes == 0);
    CHECK(poll.body == expected);  // 300 KB through a 16 KiB window
    CHECK(c->open_streams() == 1);
    srv.finish(*pid);
    REQUIRE(exchange(*c, srv));
    CHECK(poll.closes == 1);
    CHECK(poll.result);
}

TEST_CASE("h2 client: without consume() the server stops at the stream window") {
    H2Limits lim;
    lim.stream_window = 16 * 1024;
    auto c = make_client(lim);
    H2TestServer srv;
    Recorder r;
    auto id = c->submit("GET", "/big", "h", {}, {}, r);
    REQUIRE(id);
    REQUIRE(exchange(*c, srv));
    srv.respond(*id, "200", {}, std::string(100 * 1024, 'z'));
    REQUIRE(exchange(*c, srv));
    CHECK(r.body.size() == 16 * 1024);
    CHECK(srv.stream_remote_window(*id) == 0);

    c->consume(*id, 4 * 1024);  // below half the window: no WINDOW_UPDATE yet
    REQUIRE(exchange(*c, srv));
    CHECK(r.body.size() == 16 * 1024);
    c->consume(*id, 1024 * 1024);  // clamped to what was delivered
    REQUIRE(exchange(*c, srv));
    CHECK(r.body.size() == 32 * 1024);
    for (int i = 0; i < 10 && r.closes == 0; ++i) {
        c->consume(*id, 16 * 1024);
        REQUIRE(exchange(*c, srv));
    }
    CHECK(r.body == std::string(100 * 1024, 'z'));
    CHECK(r.result);
}

TEST_CASE("h2 client: the connection window bounds unconsumed data; closing a stream frees it") {
    H2Limits lim;
    lim.stream_window = 48 * 1024;
    lim.connection_window = 65535;
    auto c = make_client(lim);
    H2TestServer srv;
    Recorder a, b;
    auto ia = c->submit("GET", "/a", "h", {}, {}, a);
    auto ib = c->submit("GET", "/b", "h", {}, {}, b);
    REQUIRE(ia);
    REQUIRE(ib);
    REQUIRE(exchange(*c, srv));
    srv.respond(*ia, "200", {}, std::string(40 * 1024, 'a'));  // fits its stream window
    srv.respond(*ib, "200", {}, std::string(40 * 1024, 'b'), /*end=*/false);
    REQUIRE(exchange(*c, srv));
    CHECK(a.body.size() + b.body.size() == 65535);
    CHECK(srv.connection_remote_window() == 0);
    CHECK(a.closes == 0);

    c->cancel(*ia);  // its bytes go back to the connection window
    REQUIRE(exchange(*c, srv));
    CHECK(b.body.size() == 40 * 1024);
    CHECK(a.closes == 0);  // a cancelled handler hears nothing more
    CHECK(srv.rst_received[*ia] == NGHTTP2_CANCEL);
    CHECK(srv.connection_remote_window() > 0);
}

TEST_CASE("h2 client: RST_STREAM from the server fails that stream only") {
    auto c = make_client();
    H2TestServer srv;
    Recorder a, b;
    auto ia = c->submit("POST", "/machine/map", "h", kJsonHeaders, bytes("{}"), a);
    auto ib = c->submit("POST", "/machine/register", "h", kJsonHeaders, bytes("{}"), b);
    REQUIRE(ia);
    REQUIRE(ib);
    REQUIRE(exchange(*c, srv));
    srv.respond(*ia, "200", {}, "partial", /*end=*/false);
    REQUIRE(exchange(*c, srv));
    srv.reset(*ia, NGHTTP2_INTERNAL_ERROR);
    srv.respond(*ib, "200", {}, "ok");
    REQUIRE(exchange(*c, srv));
    CHECK(a.closes == 1);
    REQUIRE_FALSE(a.result);
    CHECK(a.result.error().code == Errc::kProtocol);
    CHECK(a.result.error().message.find("reset") != std::string::npos);
    CHECK(a.body == "partial");
    CHECK(b.result);
    CHECK(c->is_alive());
}

TEST_CASE("h2 client: GOAWAY refuses newer streams, older ones finish, then the session ends") {
    auto c = make_client();
    H2TestServer srv;
    Recorder a, b, d;
    auto ia = c->submit("POST", "/machine/map", "h", kJsonHeaders, bytes("{}"), a);
    auto ib = c->submit("POST", "/machine/register", "h", kJsonHeaders, bytes("{}"), b);
    REQUIRE(ia);
    REQUIRE(ib);
    REQUIRE(exchange(*c, srv));
    srv.goaway(*ia, NGHTTP2_NO_ERROR);
    REQUIRE(exchange(*c, srv));
    CHECK(c->goaway_received());
    CHECK(b.closes == 1);
    REQUIRE_FALSE(b.result);
    CHECK(b.result.error().code == Errc::kClosed);
    CHECK(a.closes == 0);
    CHECK(c->is_alive());
    auto refused = c->submit("GET", "/x", "h", {}, {}, d);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::kClosed);

    srv.respond(*ia, "200", {}, "last");
    REQUIRE(exchange(*c, srv));
    CHECK(a.result);
    CHECK(a.body == "last");
    CHECK_FALSE(c->is_alive());
}

TEST_CASE("h2 client: garbage from the server is an error, every stream closes, no crash") {
    auto c = make_client();
    Recorder r;
    REQUIRE(c->submit("POST", "/machine/register", "h", kJsonHeaders, bytes("{}"), r));
    Bytes out;
    while (c->wants_output()) c->take_output(out);
    CHECK(text(out).rfind("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0) == 0);  // prior knowledge

    const Status st = c->on_bytes(bytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::kProtocol);
    CHECK_FALSE(c->is_alive());
    CHECK(r.closes == 1);
    CHECK_FALSE(r.result);
    Bytes goaway;
    c->take_output(goaway);
    CHECK(goaway.size() >= 17);  // our GOAWAY frame, worth sending before closing
    CHECK(goaway[3] == NGHTTP2_GOAWAY);
    REQUIRE_FALSE(c->on_bytes(bytes("more")));
    CHECK(r.closes == 1);
    Recorder late;
    CHECK_FALSE(c->submit("GET", "/", "h", {}, {}, late));

    // Random bytes after a valid server preface: must end in an error value, never a crash.
    test::SeededRng rng(7);
    for (int round = 0; round < 200; ++round) {
        auto cc = make_client();
        H2TestServer srv;
        Recorder rr;
        REQUIRE(cc->submit("GET", "/", "h", {}, {}, rr));
        REQUIRE(exchange(*cc, srv));
        Bytes junk(1 + rng.uniform(200));
        rng.fill(junk);
        (void)cc->on_bytes(junk);
        Bytes sink;
        cc->take_output(sink);
        CHECK(rr.closes <= 1);
        if (!cc->is_alive()) CHECK(rr.closes == 1);
    }
}

TEST_CASE("h2 client: response headers over the limit reset the stream") {
    H2Limits lim;
    lim.max_header_list_bytes = 1024;
    auto c = make_client(lim);
    H2TestServer srv;
    Recorder r, ok;
    auto id = c->submit("GET", "/", "h", {}, {}, r);
    REQUIRE(id);
    REQUIRE(exchange(*c, srv));
    srv.respond(*id, "200", {{"x-big", std::string(2000, 'q')}}, "body");
    REQUIRE(exchange(*c, srv));
    CHECK(r.head_calls == 0);
    CHECK(r.closes == 1);
    REQUIRE_FALSE(r.result);
    CHECK(r.result.error().code == Errc::kLimitReached);
    CHECK(r.body.empty());
    CHECK(c->is_alive());  // a stream error, not a connection error
    auto id2 = c->submit("GET", "/", "h", {}, {}, ok);
    REQUIRE(id2);
    REQUIRE(exchange(*c, srv));
    srv.respond(*id2, "204");
    REQUIRE(exchange(*c, srv));
    CHECK(ok.status == 204);
    CHECK(ok.result);
}

TEST_CASE("h2 client: submit validates its input and bounds streams and bodies") {
    H2Limits lim;
    lim.max_streams = 2;
    lim.max_request_body = 100;
    auto c = make_client(lim);
    Recorder r;
    CHECK(c->submit("POST", "/", "h", {{"Connection", "close"}}, {}, r).error().code ==
          Errc::kInvalidArgument);
    CHECK(c->submit("POST", "/", "h", {{":path", "/x"}}, {}, r).error().code ==
          Errc::kInvalidArgument);
    CHECK(c->submit("POST", "/", "h", {{"x", "a\r\nb"}}, {}, r).error().code ==
          Errc::kInvalidArgument);
    CHECK(c->submit("POST", "nopath", "h", {}, {}, r).error().code == Errc::kInvalidArgument);
    CHECK(c->submit("POST", "/", "h", {}, Bytes(101), r).error().code == Errc::kLimitReached);
    Recorder a, b;
    REQUIRE(c->submit("GET", "/", "h", {}, {}, a));
    REQUIRE(c->submit("GET", "/", "h", {}, {}, b));
    CHECK(c->submit("GET", "/", "h", {}, {}, r).error().code == Errc::kLimitReached);
    CHECK_FALSE(H2Client::create(H2Limits{.max_header_list_bytes = 1024, .max_streams = 0}));
    H2Limits small;
    small.connection_window = 1000;
    CHECK_FALSE(H2Client::create(small));
}

TEST_CASE("h2 client: cancel from a handler drops that stream's queued events") {
    auto c = make_client();
    H2TestServer srv;
    struct Canceller : Recorder {
        std::int32_t victim = 0;
        void on_response_headers(int s, const H2Headers& h) override {
            Recorder::on_response_headers(s, h);
            client->cancel(victim);
        }
    } first;
    Recorder second;
    auto i1 = c->submit("GET", "/1", "h", {}, {}, first);
    auto i2 = c->submit("GET", "/2", "h", {}, {}, second);
    REQUIRE(i1);
    REQUIRE(i2);
    first.client = c.get();
    first.id = *i1;
    first.victim = *i2;
    REQUIRE(exchange(*c, srv));
    // Both responses arrive in one read; stream 1's head is dispatched first and cancels 2.
    srv.respond(*i1, "200", {}, "one");
    srv.respond(*i2, "200", {}, "two");
    REQUIRE(exchange(*c, srv));
    CHECK(first.result);
    CHECK(second.head_calls == 0);
    CHECK(second.closes == 0);
    CHECK(second.body.empty());
    CHECK(c->open_streams() == 0);
    CHECK(c->is_alive());
}

TEST_CASE("h2 client: output is handed out in bounded slices until none is left") {
    H2Limits lim;
    lim.max_output_per_call = 100;
    auto c = make_client(lim);
    H2TestServer srv;
    Recorder r;
    const std::string body(10 * 1024, 'j');
    REQUIRE(c->submit("POST", "/machine/register", "h", kJsonHeaders, bytes(body), r));
    Bytes first;
    c->take_output(first);
    CHECK(first.size() < 100 + 16 * 1024 + 9);  // one frame may cross the mark
    CHECK(c->wants_output());
    REQUIRE(srv.feed(first) == static_cast<int>(first.size()));
    REQUIRE(exchange(*c, srv));
    CHECK_FALSE(c->wants_output());
    CHECK(srv.requests[1].body == body);
    CHECK(srv.requests[1].complete);
}
