// One Session per client connection: request head -> [407] -> connect -> 200 + splice
// (CONNECT) or forwarded head + splice (absolute-form). The head parser (8 KiB) lives only
// until the head is complete.
#include "proxy/http_proxy_server.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "proxy/http_proxy_codec.hpp"
#include "proxy/mesh_dialer.hpp"
#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

// Bytes read per call while the head is incomplete: bounds what is held after the head.
constexpr std::size_t kHeadReadChunk = 4096;

http::StatusCode http_status(DialOutcome o) {
    switch (o) {
        case DialOutcome::kNotAllowed: return http::StatusCode::kForbidden;
        case DialOutcome::kTimedOut:
        case DialOutcome::kNoSession: return http::StatusCode::kGatewayTimeout;
        case DialOutcome::kLimitReached: return http::StatusCode::kServiceUnavailable;
        default: return http::StatusCode::kBadGateway;
    }
}

log::RateLimit g_log_limit(10, 10s);

std::string_view text(http::StatusCode c) { return http::response_head(c); }
ByteView bytes(std::string_view s) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace

class HttpProxyServer::Session final : public proxy::Session,
                                       public io::FdHandler,
                                       public SpliceObserver {
public:
    Session(HttpProxyServer& server, io::UniqueFd fd, const Endpoint& client)
        : server_(server), ctx_(server.ctx_), fd_(std::move(fd)), client_(client),
          credentials_(server.options_.credentials),
          parser_(std::make_unique<http::RequestHeadParser>()),
          deadline_(ctx_.loop.now() + ctx_.negotiation_timeout) {}

    ~Session() override {
        if (registered_) {
            ctx_.loop.remove_fd(fd_.get());
        }
    }

    void begin() {
        if (!ctx_.loop.add_fd(fd_.get(), io::kRead, *this)) {
            finish();
            return;
        }
        registered_ = true;
    }
    // Over MaxConnections: read the request head, then answer 503 and close.
    void begin_refusal() {
        refusing_ = true;
        begin();
    }

    void on_fd_ready(int fd, std::uint32_t events) override {
        if (!parser_) {
            if ((events & (io::kError | io::kHangup)) != 0) {
                finish();
            }
            return;
        }
        MutByteView scratch = ctx_.splices.scratch();
        const ssize_t n = ::recv(fd, scratch.data(), std::min(scratch.size(), kHeadReadChunk), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            finish();
            return;
        }
        if (n > 0) {
            on_bytes(ByteView(scratch.data(), static_cast<std::size_t>(n)));
        }
    }

    void on_splice_end(Splice& splice, SpliceEnd how) override {
        (void)splice;
        (void)how;
        server_.sessions_.finish(*this);
    }

    void on_tick(Instant now) override {
        if (splice_) {
            splice_->check_idle(ctx_.stack.now());
        } else if (parser_ && now >= deadline_) {
            server_.stats_.reject("head_timeout");
            finish();
        }
    }

    void abort() override {
        if (splice_) {
            splice_->abort();
        } else {
            close_with_reset(fd_);
            finish();
        }
    }

private:
    void finish() {
        if (registered_) {
            ctx_.loop.remove_fd(fd_.get());
            registered_ = false;
        }
        fd_.reset();
        server_.sessions_.finish(*this);
    }
    void respond_and_close(http::StatusCode code, const char* why) {
        (void)send_all_small(fd_.get(), bytes(text(code)));
        log::debug_limited(g_log_limit, ctx_.loop.now(), "http proxy {}: {} {}",
                           client_.to_string(), static_cast<int>(code), why);
        finish();
    }

    void on_bytes(ByteView chunk) {
        const auto step = parser_->feed(chunk);
        if (step.progress == Progress::kNeedMore) {
            return;
        }
        if (step.progress == Progress::kError) {
            server_.stats_.reject(http::fault_name(step.fault));
            return respond_and_close(http::status_for(step.fault), http::fault_name(step.fault));
        }
        const http::RequestHead& head = parser_->head();
        if (credentials_ &&
            http::check_proxy_authorization(head, *credentials_) != http::AuthCheck::kOk) {
            server_.stats_.reject("auth_failed");
            return respond_and_close(http::StatusCode::kProxyAuthenticationRequired,
                                     "authentication required");
        }
        if (refusing_) {
            return respond_and_close(http::StatusCode::kServiceUnavailable,
                                     "MaxConnections reached");
        }
        const ByteView rest = chunk.subspan(step.consumed);
        connect_ = head.form == http::RequestForm::kAuthority;
        if (!connect_) {
            Bytes fwd(http::kMaxForwardHeadSize);
            const std::size_t n = http::write_forward_head(head, http::ForwardOptions{}, fwd);
            if (n == 0) {
                server_.stats_.reject("cannot_forward");
                return respond_and_close(http::StatusCode::kBadRequest, "cannot forward");
            }
            fwd.resize(n);
            to_mesh_ = std::move(fwd);
        }
        to_mesh_.insert(to_mesh_.end(), rest.begin(), rest.end());
        target_ = head.target;
        parser_.reset();
        (void)ctx_.loop.modify_fd(fd_.get(), 0);  // the body waits in the socket
        dialer_ = std::make_unique<MeshDialer>(
            ctx_, [this](DialOutcome o, std::unique_ptr<net::TcpConnection> c) {
                on_dialed(o, std::move(c));
            });
        dialer_->start(target_);
    }

    void on_dialed(DialOutcome o, std::unique_ptr<net::TcpConnection> conn) {
        if (o != DialOutcome::kConnected) {
            ++server_.stats_.failed;
            return respond_and_close(http_status(o), dial_outcome_name(o));
        }
        ctx_.loop.remove_fd(fd_.get());
        registered_ = false;
        bool ok = true;
        if (connect_) {
            ok = send_all_small(fd_.get(), bytes(text(http::StatusCode::kConnectionEstablished)));
        }
        splice_ = std::make_unique<Splice>(ctx_.splices, server_.stats_.traffic, *this,
                                           std::move(fd_), std::move(conn));
        if (!ok) {
            splice_->abort();
            return;
        }
        splice_->start(std::move(to_mesh_));
    }

    HttpProxyServer& server_;
    ServiceContext& ctx_;
    io::UniqueFd fd_;
    Endpoint client_;
    std::optional<Credentials> credentials_;  // as configured when the client was accepted
    std::unique_ptr<http::RequestHeadParser> parser_;
    Instant deadline_;
    bool registered_ = false;
    bool refusing_ = false;
    bool connect_ = false;
    Target target_;
    Bytes to_mesh_;
    std::unique_ptr<MeshDialer> dialer_;
    std::unique_ptr<Splice> splice_;
};

Result<std::unique_ptr<HttpProxyServer>> HttpProxyServer::create(ServiceContext& ctx,
                                                                 const Options& options) {
    std::unique_ptr<HttpProxyServer> s(new HttpProxyServer(ctx, options));
    auto l = HostListener::open(ctx.loop, options.bind,
                                [srv = s.get()](io::UniqueFd fd, const Endpoint& client) {
                                    srv->on_accept(std::move(fd), client);
                                });
    if (!l) {
        return l.error();
    }
    s->listener_ = std::move(*l);
    s->stats_.name = "http " + s->listener_->local().to_string();
    return s;
}

HttpProxyServer::HttpProxyServer(ServiceContext& ctx, const Options& options)
    : ctx_(ctx), options_(options), sessions_(ctx.loop, stats_, options.max_connections) {}

HttpProxyServer::~HttpProxyServer() = default;

void HttpProxyServer::on_accept(io::UniqueFd fd, const Endpoint& client) {
    sessions_.start_host_session<Session>(*this, std::move(fd), client);
}

void HttpProxyServer::reconfigure(const Options& options) {
    options_ = options;
    sessions_.set_max_sessions(options.max_connections);
}

void HttpProxyServer::shutdown() {
    listener_.reset();
    sessions_.abort_all();
}

}  // namespace tunless::proxy
