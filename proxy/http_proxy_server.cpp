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

// Over MaxConnections (begin_refusal) the request head is read, then answered 503.
class HttpProxyServer::Session final : public LocalProxySession {
public:
    Session(HttpProxyServer& server, io::UniqueFd fd, const Endpoint& client)
        : LocalProxySession(server, std::move(fd), client),
          parser_(std::make_unique<http::RequestHeadParser>()) {}

private:
    void on_client_readable(int fd) override {
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

    void on_negotiation_timeout() override {
        stats().reject("head_timeout");
        finish();
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
            stats().reject(http::fault_name(step.fault));
            return respond_and_close(http::status_for(step.fault), http::fault_name(step.fault));
        }
        const http::RequestHead& head = parser_->head();
        if (credentials_ &&
            http::check_proxy_authorization(head, *credentials_) != http::AuthCheck::kOk) {
            stats().reject("auth_failed");
            return respond_and_close(http::StatusCode::kProxyAuthenticationRequired,
                                     "authentication required");
        }
        if (refusing()) {
            return respond_and_close(http::StatusCode::kServiceUnavailable,
                                     "MaxConnections reached");
        }
        const ByteView rest = chunk.subspan(step.consumed);
        connect_ = head.form == http::RequestForm::kAuthority;
        if (!connect_) {
            Bytes fwd(http::kMaxForwardHeadSize);
            const std::size_t n = http::write_forward_head(head, http::ForwardOptions{}, fwd);
            if (n == 0) {
                stats().reject("cannot_forward");
                return respond_and_close(http::StatusCode::kBadRequest, "cannot forward");
            }
            fwd.resize(n);
            to_mesh_ = std::move(fwd);
        }
        to_mesh_.insert(to_mesh_.end(), rest.begin(), rest.end());
        const Target target = head.target;
        parser_.reset();
        dial(target);  // the body waits in the socket
    }

    void on_dialed(DialOutcome o, std::unique_ptr<net::TcpConnection> conn) override {
        if (o != DialOutcome::kConnected) {
            ++stats().failed;
            return respond_and_close(http_status(o), dial_outcome_name(o));
        }
        const ByteView reply =
            connect_ ? bytes(text(http::StatusCode::kConnectionEstablished)) : ByteView();
        start_splice(std::move(conn), reply, std::move(to_mesh_));
    }

    std::unique_ptr<http::RequestHeadParser> parser_;  // until the head is complete
    bool connect_ = false;
    Bytes to_mesh_;
};

Result<std::unique_ptr<HttpProxyServer>> HttpProxyServer::create(ServiceContext& ctx,
                                                                 const Options& options) {
    std::unique_ptr<HttpProxyServer> s(new HttpProxyServer(ctx, options));
    if (auto st = s->listen<Session>(*s, "http"); !st) return st.error();
    return s;
}

HttpProxyServer::HttpProxyServer(ServiceContext& ctx, const Options& options)
    : LocalProxy(ctx, options) {}

HttpProxyServer::~HttpProxyServer() = default;

}  // namespace tunless::proxy
