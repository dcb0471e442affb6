// An HTTP/2 server in memory for the tailnet tests (nghttp2_session_server_new with
// mem_recv/mem_send), so what our client sends and receives is genuine HTTP/2: HPACK with Huffman
// and the dynamic table, flow control, RST_STREAM, GOAWAY, PING. Tests put its bytes on whatever
// carries them (plain for H2Client, Noise records for ControlSession).
#pragma once

#include <doctest/doctest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/tailnet/h2_client.hpp"

namespace tunless::test {

// A minimal HTTP/2 server: records requests, answers what the test tells it to.
class H2TestServer {
public:
    struct Request {
        tailnet::H2Headers headers;  // including pseudo-headers, in arrival order
        std::string body;
        bool complete = false;
        std::string header(std::string_view name) const {
            for (const auto& [n, v] : headers) {
                if (n == name) return v;
            }
            return {};
        }
    };

    H2TestServer() {
        nghttp2_session_callbacks* cb = nullptr;
        REQUIRE(nghttp2_session_callbacks_new(&cb) == 0);
        nghttp2_session_callbacks_set_on_header_callback(cb, &on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &on_data);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &on_frame_recv);
        nghttp2_session_callbacks_set_on_stream_close_callback(cb, &on_stream_close);
        REQUIRE(nghttp2_session_server_new(&s_, cb, this) == 0);
        nghttp2_session_callbacks_del(cb);
        const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
        REQUIRE(nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, iv, 1) == 0);
    }
    ~H2TestServer() { nghttp2_session_del(s_); }
    H2TestServer(const H2TestServer&) = delete;
    H2TestServer& operator=(const H2TestServer&) = delete;

    int feed(ByteView in) {
        return static_cast<int>(nghttp2_session_mem_recv(s_, in.data(), in.size()));
    }
    // The latest request to `path`; 0 when none came.
    std::int32_t last(std::string_view path) const {
        std::int32_t id = 0;
        for (const auto& [i, r] : requests) {
            if (r.header(":path") == path) id = i;
        }
        return id;
    }
    Bytes take() {
        Bytes out;
        for (;;) {
            const std::uint8_t* p = nullptr;
            const auto n = nghttp2_session_mem_send(s_, &p);
            REQUIRE(n >= 0);
            if (n == 0) return out;
            out.insert(out.end(), p, p + n);
        }
    }

    // Response head now; body through a deferred provider fed by push()/finish().
    void respond(std::int32_t id, const char* status, tailnet::H2Headers extra = {},
                 std::string body = {}, bool end = true) {
        Body& b = bodies_[id];
        b.pending = std::move(body);
        b.end = end;
        std::vector<nghttp2_nv> nva{nv(":status", status)};
        for (const auto& [n, v] : extra) nva.push_back(nv(n, v));
        nghttp2_data_provider prd{};
        prd.read_callback = &read_body;
        REQUIRE(nghttp2_submit_response(s_, id, nva.data(), nva.size(), &prd) == 0);
    }
    void push(std::int32_t id, std::string more) {
        bodies_[id].pending += more;
        (void)nghttp2_session_resume_data(s_, id);
    }
    void finish(std::int32_t id) {
        bodies_[id].end = true;
        (void)nghttp2_session_resume_data(s_, id);
    }
    void informational(std::int32_t id, const char* status) {
        nghttp2_nv h = nv(":status", status);
        REQUIRE(nghttp2_submit_headers(s_, NGHTTP2_FLAG_NONE, id, nullptr, &h, 1, nullptr) == 0);
    }
    void reset(std::int32_t id, std::uint32_t code) {
        REQUIRE(nghttp2_submit_rst_stream(s_, NGHTTP2_FLAG_NONE, id, code) == 0);
    }
    void goaway(std::int32_t last_id, std::uint32_t code) {
        REQUIRE(nghttp2_submit_goaway(s_, NGHTTP2_FLAG_NONE, last_id, code, nullptr, 0) == 0);
    }
    void ping() { REQUIRE(nghttp2_submit_ping(s_, NGHTTP2_FLAG_NONE, nullptr) == 0); }
    std::int32_t stream_remote_window(std::int32_t id) {
        return nghttp2_session_get_stream_remote_window_size(s_, id);
    }
    std::int32_t connection_remote_window() { return nghttp2_session_get_remote_window_size(s_); }

    std::map<std::int32_t, Request> requests;
    std::map<std::int32_t, std::uint32_t> rst_received;  // stream -> error code
    std::map<std::int32_t, std::uint32_t> closed;
    int settings_acks = 0;
    int ping_acks = 0;
    int window_updates = 0;

private:
    struct Body {
        std::string pending;
        bool end = true;
    };
    static nghttp2_nv nv(std::string_view n, std::string_view v) {
        return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                NGHTTP2_NV_FLAG_NONE};
    }
    static std::string text(ByteView v) {
        return {reinterpret_cast<const char*>(v.data()), v.size()};
    }
    static H2TestServer& self(void* ud) { return *static_cast<H2TestServer*>(ud); }
    static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n,
                         std::size_t nl, const std::uint8_t* v, std::size_t vl, std::uint8_t,
                         void* ud) {
        self(ud).requests[f->hd.stream_id].headers.emplace_back(text({n, nl}), text({v, vl}));
        return 0;
    }
    static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d,
                       std::size_t len, void* ud) {
        self(ud).requests[id].body += text({d, len});
        return 0;
    }
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* ud) {
        H2TestServer& t = self(ud);
        if (f->hd.type == NGHTTP2_SETTINGS && (f->hd.flags & NGHTTP2_FLAG_ACK)) ++t.settings_acks;
        if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK)) ++t.ping_acks;
        if (f->hd.type == NGHTTP2_WINDOW_UPDATE) ++t.window_updates;
        if (f->hd.type == NGHTTP2_RST_STREAM) {
            t.rst_received[f->hd.stream_id] = f->rst_stream.error_code;
        }
        if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
            (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            t.requests[f->hd.stream_id].complete = true;
        }
        return 0;
    }
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* ud) {
        self(ud).closed[id] = code;
        return 0;
    }
    static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t len,
                             std::uint32_t* flags, nghttp2_data_source*, void* ud) {
        Body& b = self(ud).bodies_[id];
        const std::size_t n = std::min(len, b.pending.size());
        std::memcpy(buf, b.pending.data(), n);
        b.pending.erase(0, n);
        if (b.pending.empty()) {
            if (b.end) {
                *flags |= NGHTTP2_DATA_FLAG_EOF;
            } else if (n == 0) {
                return NGHTTP2_ERR_DEFERRED;
            }
        }
        return static_cast<ssize_t>(n);
    }

    nghttp2_session* s_ = nullptr;
    std::map<std::int32_t, Body> bodies_;
};

}  // namespace tunless::test
