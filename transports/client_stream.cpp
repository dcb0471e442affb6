// ClientStream, second half: the established stream. Reads and writes follow what the socket
// or Mbed TLS asks for (engineering notes 6.9): a blocked TLS write is retried with the same
// bytes, either direction may wait on either readiness, and plaintext buffered inside Mbed TLS
// is drained from posted work since epoll cannot see it. Connecting: client_stream_connect.cpp.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "transports/client_stream.hpp"

namespace tunless::io {

Status ClientStream::write(ByteView bytes) {
    if (phase_ == Phase::kClosed) return fail(Errc::kClosed, "stream closed");
    if (bytes.size() > options_.max_send_buffer) {
        return fail(Errc::kInvalidArgument, "write larger than the stream's send buffer");
    }
    if (bytes.size() > send_buffer_free()) {
        refused_size_ = std::max(refused_size_, bytes.size());
        return fail(Errc::kLimitReached, "buffer full");
    }
    if (send_off_ > 0 && send_buf_.size() + bytes.size() > options_.max_send_buffer) {
        // Keep the vector within max_send_buffer: slide the unsent tail to the front. A TLS
        // write in flight only remembers its length, so moving its bytes is harmless.
        send_buf_.erase(send_buf_.begin(),
                        send_buf_.begin() + static_cast<std::ptrdiff_t>(send_off_));
        send_off_ = 0;
    }
    send_buf_.insert(send_buf_.end(), bytes.begin(), bytes.end());
    if (phase_ == Phase::kOpen && write_want_ == TlsWant::kNothing) schedule(true, false);
    return {};
}

std::size_t ClientStream::send_buffer_free() const {
    return options_.max_send_buffer - std::min(options_.max_send_buffer, send_buffer_used());
}

void ClientStream::pause_reading(bool paused) {
    if (reading_paused_ == paused) return;
    reading_paused_ = paused;
    if (phase_ != Phase::kOpen) return;
    if (!paused && (hung_up_ || (tls_ && tls_->has_pending()))) schedule(false, true);
    update_interest();
}

void ClientStream::on_fd_ready(int /*fd*/, std::uint32_t events) {
    switch (phase_) {
        case Phase::kConnecting:
            finish_connect();
            return;
        case Phase::kHandshaking:
            step_handshake();  // an error or hang-up surfaces as a failed handshake step
            return;
        case Phase::kOpen:
            break;
        default:
            return;
    }
    const bool failed = (events & (kError | kHangup)) != 0;
    const bool readable = failed || (events & kRead) != 0;
    const bool writable = failed || (events & kWrite) != 0;
    if (write_want_ != TlsWant::kNothing &&
        (write_want_ == TlsWant::kReadable ? readable : writable)) {
        write_want_ = TlsWant::kNothing;
        flush();
        if (phase_ != Phase::kOpen) return;
    }
    if (!reading_paused_ && (read_want_ == TlsWant::kWritable ? writable : readable)) {
        read_want_ = TlsWant::kNothing;
        read_some();
        if (phase_ != Phase::kOpen) return;
    } else if (reading_paused_ && failed) {
        int err = 0;
        socklen_t len = sizeof err;
        (void)::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            close_with(socket_error("stream to", err));
            return;
        }
        // Both directions shut, but unread bytes may remain and the owner asked not to read
        // yet. EPOLLHUP is level-triggered even without interest: leave epoll, and finish
        // reading from posted work once reading resumes.
        hung_up_ = true;
        loop_.remove_fd(fd_.get());
        return;
    }
    update_interest();
}

void ClientStream::read_some() {
    std::size_t budget = kMaxReadPerWakeup;
    while (phase_ == Phase::kOpen && !reading_paused_ && budget > 0) {
        std::size_t n = 0;
        if (tls_) {
            auto r = tls_->read(MutByteView(read_buf_.get(), kReadChunk));
            if (!r) {
                close_with(r.error());
                return;
            }
            if (r->eof) {
                close_with(closed_by_peer());
                return;
            }
            if (r->want != TlsWant::kNothing) {
                read_want_ = r->want == TlsWant::kWritable ? TlsWant::kWritable : TlsWant::kNothing;
                return;
            }
            n = r->bytes;
        } else {
            const ssize_t got = ::recv(fd_.get(), read_buf_.get(), kReadChunk, 0);
            if (got == 0) {
                close_with(closed_by_peer());
                return;
            }
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                close_with(socket_error("recv from", errno));
                return;
            }
            n = static_cast<std::size_t>(got);
        }
        budget -= std::min(budget, n);
        stats_.bytes_received += n;
        handler_.on_data(ByteView(read_buf_.get(), n));
    }
    // Out of budget: the rest may sit inside Mbed TLS (or the fd left epoll on a hang-up),
    // where no readiness event will announce it.
    if (phase_ == Phase::kOpen && !reading_paused_ && budget == 0) schedule(false, true);
}

void ClientStream::flush() {
    while (phase_ == Phase::kOpen && send_off_ < send_buf_.size()) {
        const ByteView rest(send_buf_.data() + send_off_, send_buf_.size() - send_off_);
        std::size_t n = 0;
        if (tls_) {
            auto r = tls_->write(rest);
            if (!r) {
                close_with(r.error());
                return;
            }
            if (r->want != TlsWant::kNothing) {
                write_want_ = r->want;
                break;
            }
            n = r->bytes;
        } else {
            const ssize_t sent = ::send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
            if (sent < 0 && errno == EINTR) continue;
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                close_with(socket_error("send to", errno));
                return;
            }
            n = sent > 0 ? static_cast<std::size_t>(sent) : 0;
        }
        if (n == 0) {
            write_want_ = TlsWant::kWritable;
            break;
        }
        send_off_ += n;
        stats_.bytes_sent += n;
    }
    if (phase_ != Phase::kOpen) return;
    if (send_off_ == send_buf_.size()) {
        send_buf_.clear();
        send_off_ = 0;
    }
    notify_writable();
}

void ClientStream::notify_writable() {
    const std::size_t enough = std::max(refused_size_, options_.max_send_buffer / 2);
    if (refused_size_ == 0 || send_buffer_free() < enough) return;
    refused_size_ = 0;
    handler_.on_writable();
}

void ClientStream::schedule(bool flush_now, bool drain) {
    flush_scheduled_ = flush_scheduled_ || flush_now;
    drain_scheduled_ = drain_scheduled_ || drain;
    if (post_pending_) return;
    post_pending_ = true;
    loop_.post([weak = std::weak_ptr<ClientStream*>(self_)] {
        if (auto self = weak.lock()) (*self)->run_scheduled();
    });
}

void ClientStream::run_scheduled() {
    post_pending_ = false;
    const bool do_flush = std::exchange(flush_scheduled_, false);
    const bool do_drain = std::exchange(drain_scheduled_, false);
    if (phase_ != Phase::kOpen) return;
    if (do_flush && write_want_ == TlsWant::kNothing) flush();
    if (phase_ != Phase::kOpen) return;
    if (do_drain && !reading_paused_ && read_want_ == TlsWant::kNothing) read_some();
    if (phase_ != Phase::kOpen) return;
    update_interest();
}

void ClientStream::update_interest() {
    if (!fd_ || hung_up_) return;
    std::uint32_t want = 0;
    switch (phase_) {
        case Phase::kConnecting:
            want = kWrite;
            break;
        case Phase::kHandshaking:
            want = handshake_want_ == TlsWant::kWritable ? kWrite : kRead;
            break;
        case Phase::kOpen:
            if (!reading_paused_) want |= read_want_ == TlsWant::kWritable ? kWrite : kRead;
            if (write_want_ == TlsWant::kReadable) want |= kRead;
            if (write_want_ == TlsWant::kWritable) want |= kWrite;
            break;
        default:
            return;
    }
    if (loop_.interest(fd_.get()) != want) (void)loop_.modify_fd(fd_.get(), want);
}

}  // namespace tunless::io
