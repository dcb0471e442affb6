// ClientStream, first half: options, name lookup, TCP connect across the resolved addresses,
// TLS handshake, deadlines, teardown. The established-stream half is client_stream.cpp.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "transports/client_stream.hpp"
#include "transports/clock.hpp"
#include "transports/socket_address.hpp"

namespace tunless::io {

ClientStream::ClientStream(EventLoop& loop, HostResolver& resolver,
                           const ClientStreamOptions& options, ClientStreamHandler& handler)
    : loop_(loop),
      resolver_(resolver),
      handler_(handler),
      options_(options),
      self_(std::make_shared<ClientStream*>(this)),
      read_buf_(new std::uint8_t[kReadChunk]) {}

ClientStream::~ClientStream() { teardown(); }

Result<std::unique_ptr<ClientStream>> ClientStream::start(EventLoop& loop, HostResolver& resolver,
                                                          const ClientStreamOptions& options,
                                                          ClientStreamHandler& handler) {
    if (options.host.empty() || options.port == 0) {
        return fail(Errc::kInvalidArgument, "stream needs a host and a port");
    }
    if (options.max_send_buffer == 0) {
        return fail(Errc::kInvalidArgument, "stream send buffer must not be empty");
    }
    std::unique_ptr<ClientStream> s(new ClientStream(loop, resolver, options, handler));
    if (options.tls.enabled) {
        // Before any network activity: a missing CA bundle is a configuration error.
        auto tls = TlsSession::create(options.tls, options.host);
        if (!tls) return tls.error();
        s->tls_ = std::move(*tls);
    }
    s->deadline_ = mono_now() + options.connect_timeout;
    ClientStream* raw = s.get();
    // The resolver never answers inside submit(); teardown() cancels, so `raw` stays valid.
    s->lookup_ = resolver.submit(options.host, HostQuery{options.family, HostSocketType::kStream},
                                 [raw](Result<std::vector<IpAddress>> r) {
                                     raw->lookup_ = 0;
                                     raw->on_resolved(std::move(r));
                                 });
    s->arm_timer();
    return s;
}

void ClientStream::on_resolved(Result<std::vector<IpAddress>> addresses) {
    if (!addresses) {
        close_with(make_error(addresses.error().code,
                              "resolve " + options_.host + ": " + addresses.error().message));
        return;
    }
    addresses_ = std::move(*addresses);
    next_address_ = 0;
    phase_ = Phase::kConnecting;
    connect_next();
}

// Tries the addresses in resolver order (RFC 6724 preference) one after another; each gets
// an equal share of the remaining time so a black-holed first family cannot eat it all.
void ClientStream::connect_next() {
    while (next_address_ < addresses_.size()) {
        remote_ip_ = addresses_[next_address_++].unmap_v4();
        ++stats_.connect_attempts;
        const int family = remote_ip_.is_v4() ? AF_INET : AF_INET6;
        const auto addr = to_socket_address(Endpoint::udp(remote_ip_, options_.port), family);
        UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
        if (!addr || !fd) {
            last_attempt_error_ = socket_error("socket for", addr ? errno : EAFNOSUPPORT);
            continue;
        }
        // Small interactive frames (Noise records, DERP keepalives): no Nagle delay, as Go's
        // net package sets by default.
        const int one = 1;
        (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // EINTR: the connect goes on asynchronously, exactly like EINPROGRESS.
        if (::connect(fd.get(), addr->get(), addr->length) != 0 && errno != EINPROGRESS &&
            errno != EINTR) {
            last_attempt_error_ = socket_error("connect", errno);
            continue;
        }
        if (Status st = loop_.add_fd(fd.get(), kWrite, *this); !st) {
            last_attempt_error_ = st.error();
            continue;
        }
        fd_ = std::move(fd);
        arm_timer();
        return;  // even an immediate success is reported through writability
    }
    close_with(last_attempt_error_.value_or(
        make_error(Errc::kNotFound, "no address to connect to for " + options_.host)));
}

void ClientStream::finish_connect() {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
        last_attempt_error_ = socket_error("connect", err);
        drop_socket();
        connect_next();
        return;
    }
    if (!tls_) {
        opened();
        return;
    }
    tls_->attach(fd_.get());
    phase_ = Phase::kHandshaking;
    arm_timer();
    step_handshake();
}

void ClientStream::step_handshake() {
    auto want = tls_->handshake();
    if (!want) {
        close_with(want.error());
        return;
    }
    handshake_want_ = *want;
    if (handshake_want_ == TlsWant::kNothing) {
        opened();
        return;
    }
    update_interest();
}

void ClientStream::opened() {
    phase_ = Phase::kOpen;
    if (timer_ != kNoTimer) loop_.cancel_timer(timer_);
    timer_ = kNoTimer;
    update_interest();
    handler_.on_connected();
    if (phase_ != Phase::kOpen) return;
    // Bytes queued before the connection was up, and records the handshake's last read may
    // have left inside Mbed TLS.
    schedule(true, tls_ != nullptr && tls_->has_pending());
}

void ClientStream::arm_timer() {
    if (timer_ != kNoTimer) loop_.cancel_timer(timer_);
    const Instant now = mono_now();
    Instant at = deadline_;
    if (phase_ == Phase::kConnecting && now < deadline_) {
        const auto left = static_cast<Duration::rep>(addresses_.size() - next_address_ + 1);
        at = now + (deadline_ - now) / left;
    }
    timer_ = loop_.add_timer(at > now ? at - now : Duration::zero(), [this] {
        timer_ = kNoTimer;
        on_timeout();
    });
}

void ClientStream::on_timeout() {
    if (phase_ == Phase::kConnecting && next_address_ < addresses_.size() &&
        mono_now() < deadline_) {
        last_attempt_error_ = make_error(
            Errc::kTimedOut,
            "connect " + Endpoint::udp(remote_ip_, options_.port).to_string() + ": timed out");
        drop_socket();
        connect_next();
        return;
    }
    const char* what = phase_ == Phase::kResolving    ? "name lookup for "
                       : phase_ == Phase::kConnecting ? "TCP connect to "
                                                      : "TLS handshake with ";
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.connect_timeout);
    close_with(make_error(Errc::kTimedOut, what + options_.host + ":" +
                                               std::to_string(options_.port) + " timed out after " +
                                               std::to_string(ms.count()) + " ms"));
}

void ClientStream::drop_socket() {
    if (!fd_) return;
    loop_.remove_fd(fd_.get());
    fd_.reset();
}

void ClientStream::teardown() {
    if (lookup_ != 0) resolver_.cancel(lookup_);
    lookup_ = 0;
    if (timer_ != kNoTimer) loop_.cancel_timer(timer_);
    timer_ = kNoTimer;
    if (tls_ && phase_ == Phase::kOpen && !hung_up_) tls_->send_close_notify();
    drop_socket();
    tls_.reset();
    phase_ = Phase::kClosed;
    Bytes().swap(send_buf_);
    send_off_ = 0;
}

void ClientStream::close() { teardown(); }

void ClientStream::close_with(Error why) {
    if (phase_ == Phase::kClosed) return;
    teardown();
    handler_.on_closed(why);
}

Error ClientStream::closed_by_peer() const {
    return make_error(Errc::kClosed,
                      options_.host + ":" + std::to_string(options_.port) + " closed the stream");
}

Error ClientStream::socket_error(const char* what, int err) const {
    Errc code = Errc::kIo;
    if (err == ECONNREFUSED) code = Errc::kRefused;
    if (err == ETIMEDOUT) code = Errc::kTimedOut;
    if (err == ENETUNREACH || err == EHOSTUNREACH || err == EADDRNOTAVAIL || err == EAFNOSUPPORT) {
        code = Errc::kUnreachable;
    }
    return make_error(code, std::string(what) + " " +
                                Endpoint::udp(remote_ip_, options_.port).to_string() + ": " +
                                std::strerror(err));
}

std::optional<Endpoint> ClientStream::remote() const {
    if (stats_.connect_attempts == 0) return std::nullopt;
    return Endpoint::udp(remote_ip_, options_.port);
}

}  // namespace tunless::io
