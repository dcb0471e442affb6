// H2Client over nghttp2 (see h2_client.hpp). nghttp2 does the framing, HPACK (Huffman and
// dynamic table), SETTINGS/PING acknowledgements and flow-control bookkeeping; this file adds
// the sans-IO plumbing: manual window updates tied to consume(), deferred handler events, and
// limits on headers, streams and bodies.
#include "core/tailnet/h2_client.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <string>

namespace tunless::tailnet {

namespace {

struct OptionDeleter {
    void operator()(nghttp2_option* o) const noexcept { nghttp2_option_del(o); }
};
struct CallbacksDeleter {
    void operator()(nghttp2_session_callbacks* c) const noexcept {
        nghttp2_session_callbacks_del(c);
    }
};

constexpr std::size_t kMaxErrorText = 200;
constexpr std::size_t kMaxHeaderListLimit = 1024 * 1024;
// RFC 9113 §6.9.2: the connection window starts here and can only be raised by WINDOW_UPDATE.
constexpr std::uint32_t kDefaultWindow = 65535;

std::string_view as_text(const std::uint8_t* p, std::size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
    // nghttp2 copies name and value at submit time (no NO_COPY flags).
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
                      name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool valid_value(std::string_view v) {
    return std::none_of(v.begin(), v.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool valid_token(std::string_view name) {
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f && !std::strchr("\"(),/:;<=>?@[\\]{}", c);
    });
}

// RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2.
bool connection_specific(std::string_view name) {
    return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
           name == "transfer-encoding" || name == "upgrade" || name == "host" || name == "te";
}

std::string lowercase(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

}  // namespace

// The nghttp2 callbacks. None of them calls a handler: they record events and state, and
// return 0 or a nghttp2 error code; nothing escapes into C.
struct H2Client::Callbacks {
    static H2Client& self(void* user_data) { return *static_cast<H2Client*>(user_data); }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
        if (frame->hd.type != NGHTTP2_HEADERS) return 0;
        if (Stream* s = self(ud).find(frame->hd.stream_id)) {
            s->collecting = !s->response_seen;  // a second block after the response = trailers
            s->headers.clear();
            s->header_bytes = 0;
            s->status = 0;
        }
        return 0;
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                         std::uint8_t, void* ud) {
        H2Client& c = self(ud);
        Stream* s = c.find(frame->hd.stream_id);
        if (!s || !s->collecting) return 0;
        s->header_bytes += namelen + valuelen + 32;
        if (s->header_bytes > c.limits_.max_header_list_bytes) {
            s->collecting = false;
            s->failure = "response headers exceed the limit";
            s->failure_code = Errc::kLimitReached;
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // nghttp2 resets the stream
        }
        const std::string_view n = as_text(name, namelen);
        const std::string_view v = as_text(value, valuelen);
        if (n == ":status") {
            int code = 0;
            const auto r = std::from_chars(v.data(), v.data() + v.size(), code);
            if (r.ec == std::errc{} && r.ptr == v.data() + v.size()) s->status = code;
        } else if (!n.empty() && n.front() != ':') {
            s->headers.emplace_back(std::string(n), std::string(v));
        }
        return 0;
    }

    static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
        H2Client& c = self(ud);
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            c.goaway_received_ = true;  // nghttp2 closes streams above last_stream_id itself
            return 0;
        }
        Stream* s = c.find(frame->hd.stream_id);
        if (!s) return 0;
        if (frame->hd.type == NGHTTP2_RST_STREAM) {
            s->failure = std::string("stream reset by the server: ") +
                         nghttp2_http2_strerror(frame->rst_stream.error_code);
            s->failure_code = Errc::kProtocol;
            return 0;
        }
        if (frame->hd.type == NGHTTP2_HEADERS && s->collecting) {
            s->collecting = false;
            if (s->status >= 100 && s->status < 200) {
                s->headers.clear();  // informational (RFC 9110 §15.2): the real response follows
            } else if (s->status >= 200 && s->status <= 999) {
                s->response_seen = true;
                Event e{EventKind::kHeaders, frame->hd.stream_id};
                e.status = s->status;
                e.headers = std::move(s->headers);
                s->headers.clear();
                c.events_.push_back(std::move(e));
            } else {
                // nghttp2's HTTP messaging checks make this unreachable; stay defensive.
                s->failure = "response without a valid :status";
                (void)nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                                NGHTTP2_PROTOCOL_ERROR);
            }
        }
        if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
            s->remote_ended = true;
        }
        return 0;
    }

    static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                             const std::uint8_t* data, std::size_t len, void* ud) {
        H2Client& c = self(ud);
        Stream* s = c.find(stream_id);
        if (!s || !s->response_seen || s->close_queued) {
            // Nobody will consume these (cancelled stream): give the windows back now.
            return nghttp2_session_consume(session, stream_id, len) == 0
                       ? 0
                       : NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        s->unconsumed += len;
        if (!c.events_.empty() && c.events_.back().kind == EventKind::kData &&
            c.events_.back().stream_id == stream_id) {
            Bytes& d = c.events_.back().data;
            d.insert(d.end(), data, data + len);
            return 0;
        }
        Event e{EventKind::kData, stream_id};
        e.data.assign(data, data + len);
        c.events_.push_back(std::move(e));
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                               void* ud) {
        H2Client& c = self(ud);
        if (Stream* s = c.find(stream_id)) {
            c.queue_close(stream_id, *s, c.stream_result(*s, error_code));
        }
        return 0;
    }

    static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
        // This client never sends GOAWAY on its own: one going out means nghttp2 terminated
        // the session over a connection error in the server's input.
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            H2Client& c = self(ud);
            c.goaway_sent_ = true;
            c.goaway_sent_code_ = frame->goaway.error_code;
        }
        return 0;
    }

    static int on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* ud) {
        self(ud).last_error_.assign(msg, std::min(len, kMaxErrorText));
        return 0;
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf,
                             std::size_t length, std::uint32_t* data_flags, nghttp2_data_source*,
                             void* ud) {
        Stream* s = self(ud).find(stream_id);
        if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets that stream only
        const std::size_t n = std::min(length, s->body.size() - s->body_sent);
        if (n > 0) std::memcpy(buf, s->body.data() + s->body_sent, n);
        s->body_sent += n;
        if (s->body_sent == s->body.size()) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            Bytes().swap(s->body);
            s->body_sent = 0;
        }
        return static_cast<ssize_t>(n);
    }
};

void H2Client::SessionDeleter::operator()(nghttp2_session* s) const noexcept {
    nghttp2_session_del(s);
}

Result<std::unique_ptr<H2Client>> H2Client::create(const H2Limits& limits) {
    if (limits.max_streams == 0 || limits.max_output_per_call == 0 ||
        limits.max_header_list_bytes < 64 || limits.stream_window < 1024 ||
        limits.connection_window < kDefaultWindow ||
        limits.stream_window > static_cast<std::uint32_t>(NGHTTP2_MAX_WINDOW_SIZE) ||
        limits.connection_window > static_cast<std::uint32_t>(NGHTTP2_MAX_WINDOW_SIZE) ||
        limits.max_header_list_bytes > kMaxHeaderListLimit) {
        return fail(Errc::kInvalidArgument, "h2: invalid limits");
    }
    std::unique_ptr<H2Client> c(new H2Client(limits));

    nghttp2_option* opt_raw = nullptr;
    if (nghttp2_option_new(&opt_raw) != 0) return fail(Errc::kLimitReached, "h2: out of memory");
    std::unique_ptr<nghttp2_option, OptionDeleter> opt(opt_raw);
    // Windows reopen only when the app consume()s: a slow consumer applies backpressure.
    nghttp2_option_set_no_auto_window_update(opt.get(), 1);
    nghttp2_option_set_max_reserved_remote_streams(opt.get(), 0);  // push is disabled anyway
    nghttp2_option_set_peer_max_concurrent_streams(opt.get(),
                                                   static_cast<std::uint32_t>(limits.max_streams));

    nghttp2_session_callbacks* cb_raw = nullptr;
    if (nghttp2_session_callbacks_new(&cb_raw) != 0) {
        return fail(Errc::kLimitReached, "h2: out of memory");
    }
    std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> cb(cb_raw);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb.get(), &Callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb.get(), &Callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb.get(), &Callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb.get(), &Callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb.get(), &Callbacks::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb.get(), &Callbacks::on_frame_send);
    nghttp2_session_callbacks_set_error_callback2(cb.get(), &Callbacks::on_error);

    nghttp2_session* s_raw = nullptr;
    if (nghttp2_session_client_new2(&s_raw, cb.get(), c.get(), opt.get()) != 0) {
        return fail(Errc::kLimitReached, "h2: out of memory");
    }
    c->session_.reset(s_raw);

    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         static_cast<std::uint32_t>(limits.max_header_list_bytes)},
    };
    const auto conn_window = static_cast<std::int32_t>(limits.connection_window);
    if (nghttp2_submit_settings(s_raw, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
        nghttp2_session_set_local_window_size(s_raw, NGHTTP2_FLAG_NONE, 0, conn_window) != 0) {
        return fail(Errc::kLimitReached, "h2: cannot queue the preface");
    }
    return c;
}

H2Client::~H2Client() {
    streams_.clear();  // nghttp2_session_del calls no callbacks; be explicit anyway
    session_.reset();
}

H2Client::Stream* H2Client::find(std::int32_t stream_id) {
    auto it = streams_.find(stream_id);
    return it == streams_.end() ? nullptr : &it->second;
}

Status H2Client::on_bytes(ByteView in) {
    if (dispatching_) return fail(Errc::kInvalidArgument, "h2: on_bytes from a handler callback");
    if (!alive_) {
        dispatch();  // closes queued by a failure inside consume()/cancel()
        return fail(Errc::kClosed, "h2: session is closed");
    }
    Status status;
    const auto rv = nghttp2_session_mem_recv(session_.get(), in.data(), in.size());
    if (rv < 0) {
        std::string msg = std::string("h2: ") + nghttp2_strerror(static_cast<int>(rv));
        if (!last_error_.empty()) msg += ": " + last_error_;
        status = fail(Errc::kProtocol, std::move(msg));
        fail_session(status.error());
    }
    after_io(status);
    return status;
}

void H2Client::take_output(Bytes& out) {
    if (dispatching_) return;
    Status status;
    after_io(status);
    out.insert(out.end(), out_.begin(), out_.end());
    out_.clear();
}

bool H2Client::wants_output() const {
    if (!out_.empty()) return true;
    return alive_ && nghttp2_session_want_write(session_.get()) != 0;
}

// Serializes queued frames into out_ until nghttp2 has nothing more or out_ holds about
// max_output_per_call bytes: out_ stays bounded even if the caller feeds input without taking
// output; the rest waits inside nghttp2 (which caps queued ACKs: a flood is a fatal error).
void H2Client::pump() {
    while (alive_ && out_.size() < limits_.max_output_per_call) {
        const std::uint8_t* data = nullptr;
        const auto n = nghttp2_session_mem_send(session_.get(), &data);
        if (n < 0) {
            fail_session(make_error(Errc::kProtocol, std::string("h2: send failed: ") +
                                                         nghttp2_strerror(static_cast<int>(n))));
            return;
        }
        if (n == 0) return;
        out_.insert(out_.end(), data, data + n);
    }
}

// After nghttp2 ran: turn a session nghttp2 terminated into our error, then run handlers.
void H2Client::after_io(Status& status) {
    pump();
    if (alive_ && goaway_sent_) {
        std::string msg = std::string("h2: connection error: ") +
                          nghttp2_http2_strerror(goaway_sent_code_);
        if (!last_error_.empty()) msg += ": " + last_error_;
        Error e = make_error(Errc::kProtocol, std::move(msg));
        fail_session(e);
        if (status) status = e;
    }
    dispatch();
}

void H2Client::fail_session(const Error& error) {
    alive_ = false;
    for (auto& [id, s] : streams_) queue_close(id, s, error);
}

void H2Client::queue_close(std::int32_t stream_id, Stream& s, Status result) {
    if (s.close_queued) return;
    s.close_queued = true;
    Event e{EventKind::kClose, stream_id};
    e.result = std::move(result);
    events_.push_back(std::move(e));
}

Status H2Client::stream_result(const Stream& s, std::uint32_t error_code) const {
    if (!s.failure.empty()) return fail(s.failure_code, "h2: " + s.failure);
    if (error_code == NGHTTP2_NO_ERROR && s.response_seen && s.remote_ended) return {};
    if (error_code == NGHTTP2_REFUSED_STREAM && goaway_received_) {
        return fail(Errc::kClosed, "h2: request refused, the server sent GOAWAY");
    }
    if (error_code == NGHTTP2_NO_ERROR) {
        return fail(Errc::kProtocol, "h2: stream closed before the response ended");
    }
    return fail(Errc::kProtocol, std::string("h2: stream error: ") +
                                     nghttp2_http2_strerror(error_code));
}

void H2Client::dispatch() {
    if (dispatching_) return;
    dispatching_ = true;
    std::vector<Event> batch;
    while (!events_.empty()) {  // a handler's cancel() may queue closes after a failure
        batch.clear();
        batch.swap(events_);
        for (Event& e : batch) deliver(e);
    }
    dispatching_ = false;
}

void H2Client::deliver(Event& e) {
    auto it = streams_.find(e.stream_id);
    if (it == streams_.end()) return;  // cancelled by a handler earlier in this batch
    H2StreamHandler* h = it->second.handler;
    switch (e.kind) {
        case EventKind::kHeaders:
            h->on_response_headers(e.status, e.headers);
            return;
        case EventKind::kData:
            h->on_data(e.data);
            return;
        case EventKind::kClose:
            // The app will not consume() a closed stream: its bytes go back to the connection
            // window. Erase before the call so the handler may destroy itself.
            if (alive_ && it->second.unconsumed > 0) {
                (void)nghttp2_session_consume_connection(session_.get(), it->second.unconsumed);
            }
            streams_.erase(it);
            h->on_close(e.result);
            return;
    }
}

Result<std::int32_t> H2Client::submit(std::string_view method, std::string_view path,
                                      std::string_view authority, const H2Headers& extra_headers,
                                      Bytes body, H2StreamHandler& handler) {
    if (!alive_) return fail(Errc::kClosed, "h2: session is closed");
    if (goaway_received_) return fail(Errc::kClosed, "h2: server sent GOAWAY");
    if (streams_.size() >= limits_.max_streams) {
        return fail(Errc::kLimitReached, "h2: too many open streams");
    }
    if (body.size() > limits_.max_request_body) {
        return fail(Errc::kLimitReached, "h2: request body too large");
    }
    if (!valid_token(method) || path.empty() || path.front() != '/' || !valid_value(path) ||
        authority.empty() || !valid_value(authority)) {
        return fail(Errc::kInvalidArgument, "h2: invalid method, path or authority");
    }
    std::vector<std::string> names;
    names.reserve(extra_headers.size());
    bool has_length = false;
    for (const auto& [name, value] : extra_headers) {
        names.push_back(lowercase(name));
        const std::string& n = names.back();
        if (!valid_token(n) || connection_specific(n) || !valid_value(value)) {
            return fail(Errc::kInvalidArgument, "h2: invalid request header " + n);
        }
        has_length = has_length || n == "content-length";
    }
    const std::string length = std::to_string(body.size());
    std::vector<nghttp2_nv> nva;
    nva.reserve(extra_headers.size() + 5);
    nva.push_back(make_nv(":method", method));
    nva.push_back(make_nv(":scheme", "https"));
    nva.push_back(make_nv(":authority", authority));
    nva.push_back(make_nv(":path", path));
    for (std::size_t i = 0; i < extra_headers.size(); ++i) {
        nva.push_back(make_nv(names[i], extra_headers[i].second));
    }
    if (!body.empty() && !has_length) nva.push_back(make_nv("content-length", length));

    nghttp2_data_provider provider{};
    provider.read_callback = &Callbacks::read_body;
    const bool with_body = !body.empty();
    const std::int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(),
                                                   with_body ? &provider : nullptr, nullptr);
    if (id < 0) {
        return fail(id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? Errc::kLimitReached
                                                              : Errc::kInvalidArgument,
                    std::string("h2: submit failed: ") + nghttp2_strerror(id));
    }
    // The read callback runs only inside nghttp2_session_mem_send, after this insert.
    Stream& s = streams_[id];
    s.handler = &handler;
    s.body = std::move(body);
    return id;
}

void H2Client::consume(std::int32_t stream_id, std::size_t n) {
    Stream* s = find(stream_id);
    if (!s || !alive_ || s->close_queued) return;
    n = std::min(n, s->unconsumed);
    if (n == 0) return;
    s->unconsumed -= n;
    if (nghttp2_session_consume(session_.get(), stream_id, n) == NGHTTP2_ERR_NOMEM) {
        fail_session(make_error(Errc::kLimitReached, "h2: out of memory"));
    }
}

void H2Client::cancel(std::int32_t stream_id) {
    auto it = streams_.find(stream_id);
    if (it == streams_.end()) return;
    const std::size_t unconsumed = it->second.unconsumed;
    const bool open = !it->second.close_queued;
    streams_.erase(it);
    if (!alive_ || !open) return;
    // The reset stream's delivered bytes will never be consumed: release the connection
    // window for them. Data still in flight is consumed in on_data_chunk.
    if ((unconsumed > 0 &&
         nghttp2_session_consume_connection(session_.get(), unconsumed) == NGHTTP2_ERR_NOMEM) ||
        nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL) ==
            NGHTTP2_ERR_NOMEM) {
        fail_session(make_error(Errc::kLimitReached, "h2: out of memory"));
    }
}

bool H2Client::is_alive() const {
    if (!alive_ || goaway_sent_) return false;
    return nghttp2_session_want_read(session_.get()) != 0 ||
           nghttp2_session_want_write(session_.get()) != 0;
}

}  // namespace tunless::tailnet
