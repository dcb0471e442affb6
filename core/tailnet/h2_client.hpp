// H2Client: a sans-IO HTTP/2 client session (nghttp2) for the ts2021 control channel. It runs
// "h2c with prior knowledge" over the decrypted Noise byte stream: client magic + SETTINGS
// first, no TLS/ALPN, no Upgrade (tailscale control/ts2021/client.go; headscale serves
// x/net/http2 Server.ServeConn on the Noise conn). Bytes in via on_bytes(), bytes out via
// take_output(), response events to one H2StreamHandler per request. Callers: the control
// session (register, map long poll, endpoint updates); facts in tailscale.md §1.6.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"

struct nghttp2_session;

namespace tunless::tailnet {

using H2Header = std::pair<std::string, std::string>;
using H2Headers = std::vector<H2Header>;

// Receives the events of one request. Callbacks run only from H2Client::on_bytes() and
// H2Client::take_output(), after nghttp2 has returned (events are queued during parsing and
// dispatched afterwards), in stream order. Inside a callback the handler may call submit(),
// consume(), cancel() and the const accessors, and may destroy itself in on_close(); it must
// not destroy the H2Client; on_bytes() from a callback fails, take_output() does nothing.
class H2StreamHandler {
public:
    // The final response head (1xx responses are skipped). `headers` excludes pseudo-headers;
    // names are lowercase as HTTP/2 requires. Trailers are ignored.
    virtual void on_response_headers(int status, const H2Headers& headers) = 0;
    // Body bytes as they arrive (the /machine/map long poll is an endless body). They count
    // against the receive windows until the app calls H2Client::consume() for them.
    virtual void on_data(ByteView chunk) = 0;
    // Exactly once, last. ok = the server ended the stream after a final response;
    // error = RST_STREAM, GOAWAY refusal, header limit, or the whole session failed.
    virtual void on_close(const Status& result) = 0;
    virtual ~H2StreamHandler() = default;
};

struct H2Limits {
    // Response header list per stream, counted as RFC 9113 §6.5.2 does (name + value + 32);
    // also advertised as SETTINGS_MAX_HEADER_LIST_SIZE. Over it: the stream is reset.
    std::size_t max_header_list_bytes = 16 * 1024;
    // Streams this client keeps open at once (submit() fails with kLimitReached beyond).
    std::size_t max_streams = 8;
    // Receive windows = how many body bytes the server may send that the app has not yet
    // consume()d: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the whole connection
    // (at least 65535, the protocol's initial value, which only WINDOW_UPDATE can raise).
    std::uint32_t stream_window = 1024 * 1024;
    std::uint32_t connection_window = 4 * 1024 * 1024;
    // Request bodies are small JSON documents; larger ones are a caller bug.
    std::size_t max_request_body = 1024 * 1024;
    // Output held by this object: take_output() hands out about this many bytes per call
    // (the rest stays queued in nghttp2, bounded by the submitted bodies; wants_output()
    // stays true meanwhile).
    std::size_t max_output_per_call = 64 * 1024;
};

class H2Client {
public:
    // Queues the client preface: magic, SETTINGS (ENABLE_PUSH=0, window, header list size)
    // and a connection WINDOW_UPDATE. Fails only on bad limits or allocation failure.
    static Result<std::unique_ptr<H2Client>> create(const H2Limits& limits);
    ~H2Client();  // invokes no handler callbacks
    H2Client(const H2Client&) = delete;
    H2Client& operator=(const H2Client&) = delete;

    // Decrypted bytes from the server, in order. Returns an error when the session died in
    // this call (HTTP/2 connection error, flood, our GOAWAY sent): every open stream then got
    // on_close(error). Afterwards on_bytes() keeps failing with kClosed; take_output() may
    // still hold our GOAWAY, worth sending before the transport is closed.
    Status on_bytes(ByteView in);
    // Appends bytes to send to the server. Call after on_bytes(), submit(), consume(),
    // cancel() while wants_output(). May dispatch handler events (stream closed by a frame
    // we sent, e.g. a request refused after GOAWAY).
    void take_output(Bytes& out);
    bool wants_output() const;

    // Opens a stream: `:method`, `:scheme https` (what Go's client sends), `:path`,
    // `:authority`, then extra_headers (names lowercased; pseudo and connection-specific
    // headers rejected), content-length when `body` is non-empty. `handler` must outlive the
    // stream: until on_close() or cancel(). Returns the stream id.
    Result<std::int32_t> submit(std::string_view method, std::string_view path,
                                std::string_view authority, const H2Headers& extra_headers,
                                Bytes body, H2StreamHandler& handler);
    // The app processed n body bytes of this stream: reopens the stream and connection
    // windows (nghttp2 sends WINDOW_UPDATE once half a window is consumed). Clamped to what
    // was delivered; a no-op for streams already closed or cancelled (their bytes are
    // released automatically at on_close()/cancel()).
    void consume(std::int32_t stream_id, std::size_t n);
    // Resets the stream (RST_STREAM CANCEL). The handler is never called again for it, even
    // if events were already queued, and may be destroyed right after cancel() returns.
    // Unknown or finished stream ids are ignored.
    void cancel(std::int32_t stream_id);

    // False once the session failed, sent its GOAWAY, or has nothing left to do after a
    // server GOAWAY. A dead client cannot be revived: make a new one on a new channel.
    bool is_alive() const;
    // The server sent GOAWAY: no new requests (submit fails with kClosed); streams at or
    // below its last stream id run to completion. The control client should reconnect.
    bool goaway_received() const { return goaway_received_; }
    std::size_t open_streams() const { return streams_.size(); }

private:
    struct Stream {
        H2StreamHandler* handler = nullptr;
        Bytes body;                    // request body, sent by the data provider
        std::size_t body_sent = 0;
        H2Headers headers;             // response headers being collected
        std::size_t header_bytes = 0;
        int status = 0;
        bool collecting = false;       // inside the response HEADERS block
        bool response_seen = false;    // final response head queued
        bool remote_ended = false;     // END_STREAM received
        bool close_queued = false;
        std::size_t unconsumed = 0;    // body bytes delivered/queued, not yet consume()d
        std::string failure;           // why the stream failed, when we know better than nghttp2
        Errc failure_code = Errc::kProtocol;
    };
    enum class EventKind : std::uint8_t { kHeaders, kData, kClose };
    struct Event {
        Event(EventKind k, std::int32_t id) : kind(k), stream_id(id) {}
        EventKind kind;
        std::int32_t stream_id;
        int status = 0;
        H2Headers headers;
        Bytes data;
        Status result;
    };
    struct Callbacks;  // the nghttp2 C callbacks (h2_client.cpp)
    struct SessionDeleter {
        void operator()(nghttp2_session* s) const noexcept;
    };

    explicit H2Client(const H2Limits& limits) : limits_(limits) {}
    Stream* find(std::int32_t stream_id);
    void pump();
    void after_io(Status& status);
    void fail_session(const Error& error);
    void queue_close(std::int32_t stream_id, Stream& s, Status result);
    Status stream_result(const Stream& s, std::uint32_t error_code) const;
    void dispatch();
    void deliver(Event& e);

    H2Limits limits_;
    std::unique_ptr<nghttp2_session, SessionDeleter> session_;
    std::map<std::int32_t, Stream> streams_;  // node-based: Stream addresses stay valid
    std::vector<Event> events_;
    Bytes out_;                 // produced while processing input, not yet taken
    bool alive_ = true;
    bool goaway_received_ = false;
    bool goaway_sent_ = false;  // nghttp2 terminated the session (connection error)
    std::uint32_t goaway_sent_code_ = 0;
    bool dispatching_ = false;
    std::string last_error_;    // nghttp2's description of the last protocol error
};

}  // namespace tunless::tailnet
