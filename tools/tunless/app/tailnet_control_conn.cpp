// KeyFetch and Connection: the stream-level halves of app::ControlClient.
#include "tools/tunless/app/tailnet_control_conn.hpp"

#include <string>
#include <utility>

#include "core/tailnet/capability_version.hpp"
#include "core/tailnet/tailcfg.hpp"

namespace tunless::app {

// ---- GET /key ---------------------------------------------------------------------------------

Status ControlClient::KeyFetch::start() {
    auto req = tailnet::build_key_request(owner_.host_header_, tailnet::kCapabilityVersion);
    if (!req) return req.error();
    auto stream =
        io::ClientStream::start(owner_.loop_, owner_.resolver_,
                                owner_.stream_options(owner_.options_.key_fetch_timeout), *this);
    if (!stream) return stream.error();
    stream_ = std::move(stream.value());
    return stream_->write({reinterpret_cast<const std::uint8_t*>(req->data()), req->size()});
}

void ControlClient::KeyFetch::close() {
    done_ = true;
    if (stream_) stream_->close();
}

void ControlClient::KeyFetch::on_data(ByteView bytes) {
    if (done_) return;
    ByteView body_bytes = bytes;
    if (!body_) {
        head_.insert(head_.end(), bytes.begin(), bytes.end());
        auto parsed = tailnet::parse_response_head(head_);
        if (!parsed) return finish(parsed.error());
        if (parsed->need_more()) return;
        if (parsed->head->status != 200) {
            return finish(make_error(
                Errc::kRefused,
                "HTTP " + std::to_string(parsed->head->status) + " " + parsed->head->reason));
        }
        auto reader = tailnet::BodyReader::for_response(*parsed->head);
        if (!reader) return finish(reader.error());
        body_.emplace(std::move(reader.value()));
        head_.erase(head_.begin(), head_.begin() + static_cast<long>(parsed->consumed));
        body_bytes = head_;
    }
    auto used = body_->feed(body_bytes);
    if (!used) return finish(used.error());
    if (!body_->done()) return;
    const Bytes& b = body_->body();
    finish(tailnet::parse_key_response({reinterpret_cast<const char*>(b.data()), b.size()}));
}

void ControlClient::KeyFetch::on_closed(const Error& why) {
    if (done_) return;
    if (body_ && why.code == Errc::kClosed) {
        if (auto st = body_->on_eof(); !st) return finish(st.error());
        const Bytes& b = body_->body();
        return finish(
            tailnet::parse_key_response({reinterpret_cast<const char*>(b.data()), b.size()}));
    }
    finish(why);
}

void ControlClient::KeyFetch::finish(Result<crypto::PublicKey> result) {
    close();
    owner_.on_key_fetched(std::move(result));  // parks this object; nothing after this line
}

// ---- the ts2021 connection --------------------------------------------------------------------

Status ControlClient::Connection::start(Instant now) {
    Bytes out;
    if (auto st = session_->start(now, out); !st) return st;
    auto stream =
        io::ClientStream::start(owner_.loop_, owner_.resolver_,
                                owner_.stream_options(owner_.options_.connect_timeout), *this);
    if (!stream) return stream.error();
    stream_ = std::move(stream.value());
    return stream_->write(out);  // sent once connected
}

void ControlClient::Connection::close() {
    if (stream_) stream_->close();
}

void ControlClient::Connection::on_data(ByteView bytes) {
    Bytes out;
    std::vector<tailnet::ControlEvent> events;
    Status st = session_->on_bytes(owner_.loop_.now(), bytes, out, events);
    finish_step(std::move(st), out, events);
}

void ControlClient::Connection::on_timer(Instant now) {
    Bytes out;
    std::vector<tailnet::ControlEvent> events;
    Status st = session_->on_timer(now, out, events);
    finish_step(std::move(st), out, events);
}

Status ControlClient::Connection::send_lite(Instant now, tailnet::MapRequest req) {
    Bytes out;
    std::vector<tailnet::ControlEvent> events;
    Status st = session_->send_lite_update(now, std::move(req), out, events);
    if (!out.empty()) {
        if (auto w = stream_->write(out); !w) return w;
    }
    owner_.on_session_events(events);
    return st;
}

void ControlClient::Connection::finish_step(Status st, Bytes& out,
                                            std::vector<tailnet::ControlEvent>& events) {
    if (!out.empty() && st) {
        if (auto w = stream_->write(out); !w) {
            st = make_error(w.error().code, "control: send: " + w.error().message);
        }
    }
    owner_.on_session_events(events);
    // Event handling may have replaced this connection (node key rotation, NetMap error).
    if (owner_.conn_.get() != this) return;
    if (!st) {
        owner_.fail_attempt(st.error());
        return;
    }
    owner_.send_pending_lite_update();
}

void ControlClient::Connection::on_closed(const Error& why) {
    if (owner_.conn_.get() != this) return;
    owner_.fail_attempt(why.code == Errc::kClosed
                            ? session_->on_eof()
                            : make_error(why.code, "control: " + why.message));
}

}  // namespace tunless::app
