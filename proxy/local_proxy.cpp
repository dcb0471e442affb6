#include "proxy/local_proxy.hpp"

namespace tunless::proxy {

LocalProxy::LocalProxy(ServiceContext& ctx, const Options& options)
    : ctx_(ctx), options_(options), sessions_(ctx.loop, stats_, options.max_connections) {}

LocalProxy::~LocalProxy() = default;

void LocalProxy::reconfigure(const Options& options) {
    options_ = options;
    sessions_.set_max_sessions(options.max_connections);
}

void LocalProxy::shutdown() {
    listener_.reset();
    sessions_.abort_all();
}

LocalProxySession::LocalProxySession(LocalProxy& proxy, io::UniqueFd fd, const Endpoint& client)
    : ctx_(proxy.ctx_), fd_(ctx_.loop, std::move(fd)), client_(client),
      credentials_(proxy.options_.credentials), proxy_(proxy),
      deadline_(ctx_.loop.now() + ctx_.negotiation_timeout) {}

LocalProxySession::~LocalProxySession() = default;

void LocalProxySession::begin() {
    if (!fd_.watch(io::kRead, *this)) {
        finish();
    }
}

void LocalProxySession::on_fd_ready(int fd, std::uint32_t events) {
    if (dialer_) {
        // Connecting: the socket is registered for errors only; the client left.
        if ((events & (io::kError | io::kHangup)) != 0) finish();
        return;
    }
    on_client_readable(fd);
}

void LocalProxySession::on_splice_end(Splice& splice, SpliceEnd how) {
    (void)splice;
    (void)how;
    proxy_.sessions_.finish(*this);
}

void LocalProxySession::on_tick(Instant now) {
    if (splice_) {
        splice_->check_idle(ctx_.stack.now());
    } else if (!dialer_ && now >= deadline_) {
        on_negotiation_timeout();
    }
}

void LocalProxySession::abort() {
    if (splice_) {
        splice_->abort();
    } else {
        close_with_reset(fd_.release());
        finish();
    }
}

void LocalProxySession::dial(const Target& target) {
    (void)fd_.set_interest(0);
    dialer_ = std::make_unique<MeshDialer>(
        ctx_, [this](DialOutcome o, std::unique_ptr<net::TcpConnection> c) {
            on_dialed(o, std::move(c));
        });
    dialer_->start(target);
}

void LocalProxySession::start_splice(std::unique_ptr<net::TcpConnection> conn, ByteView reply,
                                     Bytes to_mesh) {
    const bool sent = reply.empty() || send_all_small(fd_.get(), reply);
    splice_ = std::make_unique<Splice>(ctx_.splices, proxy_.stats_.traffic, *this, fd_.release(),
                                       std::move(conn));
    if (!sent) {
        splice_->abort();
        return;
    }
    splice_->start(std::move(to_mesh));
}

io::UniqueFd LocalProxySession::release_client() { return fd_.release(); }

void LocalProxySession::finish() {
    fd_.reset();
    proxy_.sessions_.finish(*this);
}

}  // namespace tunless::proxy
