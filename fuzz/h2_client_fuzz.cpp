// h2_client_fuzz: arbitrary server bytes against tailnet::H2Client (the HTTP/2 layer of the
// ts2021 control channel) with one or two requests in flight, fed in chunks at the input's
// split schedule. Properties: no crash or sanitizer report; every handler sees at most one
// response head, data only after it, nothing after on_close; a failed on_bytes leaves a dead
// client whose open streams all got on_close.
//
// Input: [flags u8][server byte stream...]
//   flags bit 0: a second request (GET, no body) besides the POST with a JSON body
//   bit 1: handlers consume() each chunk at once (windows reopen; else they fill up)
//   bit 2: cancel the first stream when its response head arrives
//   bit 3: tight limits (small windows and header list)
// The seeds (fuzz/corpus/h2_client) are genuine server streams produced by an nghttp2 server
// session answering exactly these requests, so mutations start from valid HPACK state.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/tailnet/h2_client.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
using tunless::tailnet::H2Client;
using tunless::tailnet::H2Headers;

struct Handler : tailnet::H2StreamHandler {
    H2Client* client = nullptr;
    std::int32_t id = 0;
    bool consume = false;
    bool cancel_on_head = false;
    bool head = false;
    bool closed = false;
    bool cancelled = false;

    void on_response_headers(int status, const H2Headers& headers) override {
        check(!closed && !cancelled, "head after close or cancel");
        check(!head, "second response head");
        check(status >= 200 && status <= 999, "status out of range");
        for (const auto& h : headers) {
            check(!h.first.empty() && h.first[0] != ':', "pseudo-header leaked");
        }
        head = true;
        if (cancel_on_head) {
            cancelled = true;
            client->cancel(id);
        }
    }
    void on_data(ByteView chunk) override {
        check(!closed && !cancelled, "data after close or cancel");
        check(head, "data before the response head");
        if (consume) client->consume(id, chunk.size());
    }
    void on_close(const Status&) override {
        check(!closed && !cancelled, "second close or close after cancel");
        closed = true;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(ByteView(data, size));
    const std::uint8_t flags = in.u8();
    ExactCopy stream(in.rest());

    tailnet::H2Limits lim;
    if (flags & 8) {
        lim.stream_window = 1024;
        lim.connection_window = 65535;
        lim.max_header_list_bytes = 256;
    }
    auto created = H2Client::create(lim);
    check(created.has_value(), "create");
    std::unique_ptr<H2Client> client = std::move(*created);

    Handler h[2];
    const int n = (flags & 1) ? 2 : 1;
    for (int i = 0; i < n; ++i) {
        h[i].client = client.get();
        h[i].consume = (flags & 2) != 0;
        auto id = i == 0 ? client->submit("POST", "/machine/map", "control.example",
                                          {{"content-type", "application/json"}},
                                          Bytes{'{', '}'}, h[i])
                         : client->submit("GET", "/key?v=68", "control.example", {}, {}, h[i]);
        check(id.has_value(), "submit");
        h[i].id = *id;
    }
    h[0].cancel_on_head = (flags & 4) != 0;
    Bytes out;
    client->take_output(out);

    const ByteView all = stream.view();
    std::size_t at = 0;
    auto cuts = split_points(all, 64);
    cuts.push_back(all.size());
    for (std::size_t cut : cuts) {
        ExactCopy chunk(all.subspan(at, cut - at));
        at = cut;
        const Status st = client->on_bytes(chunk.view());
        out.clear();
        while (client->wants_output() && out.size() < (1u << 20)) {
            const std::size_t before = out.size();
            client->take_output(out);
            if (out.size() == before) break;
        }
        if (!st) {
            check(!client->is_alive(), "failed on_bytes left the client alive");
            for (const Handler& x : h) {
                check(x.closed || x.cancelled || x.id == 0, "stream left open");
            }
            check(client->open_streams() == 0, "streams remain after failure");
            check(!client->on_bytes(chunk.view()).has_value(), "dead client accepted bytes");
            break;
        }
    }
    return 0;
}
