// Sessions of both forward directions. Inbound: the mesh connection is accepted at once and
// its data waits in lwIP (window withheld) until the host connect completes. Outbound: the
// client's bytes wait in its socket until the mesh connect completes.
#include "proxy/tcp_forward.hpp"

#include "proxy/mesh_dialer.hpp"
#include "proxy/proxy_protocol.hpp"
#include "transports/watched_fd.hpp"
#include "tools/log/log.hpp"

namespace tunless::proxy {
namespace {

log::RateLimit g_log_limit(10, 10s);

std::string peer_text(const IpAddress& ip, std::uint16_t port) {
    return Endpoint::udp(ip, port).to_string();
}

}  // namespace

std::optional<Target> to_target(const cfg::NamedEndpoint& endpoint) {
    if (endpoint.ip) {
        return Target::from_ip(*endpoint.ip, endpoint.port);
    }
    if (auto ip = IpAddress::parse(endpoint.host)) {
        return Target::from_ip(*ip, endpoint.port);
    }
    auto name = DomainName::parse(endpoint.host);
    if (!name) {
        return std::nullopt;
    }
    return Target::from_domain(*name, endpoint.port);
}

// ---- inbound: mesh port -> host target --------------------------------------------------------

class InboundForward::Session final : public proxy::Session,
                                      public net::TcpHandler,
                                      public io::FdHandler,
                                      public SpliceObserver {
public:
    Session(InboundForward& fwd, std::unique_ptr<net::TcpConnection> conn)
        : fwd_(fwd), ctx_(fwd.ctx_), conn_(std::move(conn)), peer_(conn_->endpoints()),
          target_(fwd.options_.target), proxy_protocol_(fwd.options_.proxy_protocol),
          fd_(ctx_.loop, io::UniqueFd()) {
        conn_->set_handler(this);
    }

    ~Session() override {
        if (resolving_) {
            ctx_.host_names().cancel(resolve_id_);
        }
        if (conn_) {
            conn_->set_handler(nullptr);
            conn_->abort();
        }
    }

    void begin() {
        deadline_ = ctx_.loop.now() + ctx_.connect_timeout;
        log::info("{}: {} connected, forwarding to {}", fwd_.stats_.name,
                  peer_text(peer_.remote_ip, peer_.remote_port), target_.to_string());
        const cfg::NamedEndpoint& t = target_;
        if (t.ip) {
            connect_host(*t.ip);
            return;
        }
        resolving_ = true;
        resolve_id_ = ctx_.host_names().resolve(t.host, [this](Result<std::vector<IpAddress>> r) {
            resolving_ = false;
            if (!r) {
                return fail_mesh(r.error().message.c_str());
            }
            connect_host(r->front());
        });
    }

    // net::TcpHandler: data and FIN wait in the connection until the splice starts.
    void on_readable(net::TcpConnection& c) override { (void)c; }
    void on_peer_fin(net::TcpConnection& c) override { (void)c; }
    void on_error(net::TcpConnection& c, const Error& e) override {
        (void)c;
        (void)e;
        finish();  // the mesh peer gave up before the host side answered
    }

    void on_fd_ready(int fd, std::uint32_t events) override {
        (void)events;
        fd_.unwatch();
        if (auto st = connect_result(fd); !st) {
            return fail_mesh(st.error().message.c_str());
        }
        Bytes header;
        if (proxy_protocol_) {
            const auto h = proxy_protocol::encode_v2(proxy_protocol::Addresses{
                proxy_protocol::Transport::kTcp, peer_.remote_ip, peer_.remote_port,
                peer_.local_ip, peer_.local_port});
            header.assign(h.view().begin(), h.view().end());
        }
        splice_ = std::make_unique<Splice>(ctx_.splices, fwd_.stats_.traffic, *this,
                                           fd_.release(), std::move(conn_));
        splice_->start({}, std::move(header));
    }

    void on_splice_end(Splice& s, SpliceEnd how) override {
        (void)s;
        log::debug("{}: {} finished ({})", fwd_.stats_.name,
                   peer_text(peer_.remote_ip, peer_.remote_port), splice_end_name(how));
        fwd_.sessions_.finish(*this);
    }

    void on_tick(Instant now) override {
        if (splice_) {
            splice_->check_idle(ctx_.stack.now());
        } else if (now >= deadline_) {
            fail_mesh("connect timed out");
        }
    }

    void abort() override {
        if (splice_) {
            splice_->abort();
            return;
        }
        if (conn_) {
            conn_->abort();
        }
        finish();
    }

private:
    void connect_host(const IpAddress& ip) {
        auto fd = start_connect(ip, target_.port);
        if (!fd) {
            return fail_mesh(fd.error().message.c_str());
        }
        fd_.reset(std::move(*fd));
        if (!fd_.watch(io::kWrite, *this)) {
            return fail_mesh("cannot poll the socket");
        }
    }

    void fail_mesh(const char* why) {
        ++fwd_.stats_.failed;
        log::debug_limited(g_log_limit, ctx_.loop.now(), "{}: {} -> {}: {}", fwd_.stats_.name,
                           peer_text(peer_.remote_ip, peer_.remote_port),
                           target_.to_string(), why);
        if (conn_) {
            conn_->abort();  // RST: the mesh client learns at once that nothing is there
        }
        finish();
    }

    void finish() {
        fd_.reset();
        fwd_.sessions_.finish(*this);
    }

    InboundForward& fwd_;
    ServiceContext& ctx_;
    std::unique_ptr<net::TcpConnection> conn_;
    net::TcpEndpoints peer_;
    cfg::NamedEndpoint target_;  // the forward's settings when this connection was accepted
    bool proxy_protocol_;
    io::WatchedFd fd_;
    bool resolving_ = false;
    NameResolver::RequestId resolve_id_ = 0;
    Instant deadline_{};
    std::unique_ptr<Splice> splice_;
};

Result<std::unique_ptr<InboundForward>> InboundForward::create(ServiceContext& ctx,
                                                               const Options& options) {
    std::unique_ptr<InboundForward> f(new InboundForward(ctx, options));
    net::TcpListener::Options lo;
    lo.port = options.mesh_port;
    // Our own cap (logged, counted) decides; lwIP's is only a backstop above it.
    lo.max_connections = f->sessions_.max_sessions() + 1;
    auto l = net::TcpListener::listen(ctx.stack, lo, *f);
    if (!l) {
        return fail(l.error().code, "mesh port " + std::to_string(options.mesh_port) + ": " +
                                        l.error().message);
    }
    f->listener_ = std::move(*l);
    return f;
}

InboundForward::InboundForward(ServiceContext& ctx, const Options& options)
    : ctx_(ctx), options_(options), sessions_(ctx.loop, stats_, options.max_connections) {
    stats_.name = "tcp-forward mesh:" + std::to_string(options.mesh_port);
}

InboundForward::~InboundForward() {
    listener_.reset();
}

void InboundForward::on_accept(net::TcpListener& listener,
                               std::unique_ptr<net::TcpConnection>& conn) {
    (void)listener;
    const auto& ep = conn->endpoints();
    if (!sessions_.admit(peer_text(ep.remote_ip, ep.remote_port))) {
        return;  // left in place: the listener answers RST
    }
    auto s = std::make_unique<Session>(*this, std::move(conn));
    Session& ref = *s;
    sessions_.add(std::move(s));
    ref.begin();
}

void InboundForward::reconfigure(const Options& options) {
    options_ = options;
    sessions_.set_max_sessions(options.max_connections);
    if (listener_) {
        listener_->set_max_connections(sessions_.max_sessions() + 1);  // backstop, as in create()
    }
}

void InboundForward::shutdown() {
    listener_.reset();
    sessions_.abort_all();
}

// ---- outbound: host port -> mesh target -------------------------------------------------------

class OutboundForward::Session final : public proxy::Session,
                                       public io::FdHandler,
                                       public SpliceObserver {
public:
    Session(OutboundForward& fwd, io::UniqueFd fd, const Endpoint& client)
        : fwd_(fwd), ctx_(fwd.ctx_), fd_(ctx_.loop, std::move(fd)), client_(client),
          target_(fwd.target_) {}

    void begin() {
        (void)fd_.watch(0, *this);  // only errors/hangups while dialing
        dialer_ = std::make_unique<MeshDialer>(
            ctx_, [this](DialOutcome o, std::unique_ptr<net::TcpConnection> c) {
                on_dialed(o, std::move(c));
            });
        dialer_->start(target_);
    }

    void on_fd_ready(int fd, std::uint32_t events) override {
        (void)fd;
        (void)events;
        finish();  // the client left before the mesh side answered
    }

    void on_splice_end(Splice& s, SpliceEnd how) override {
        (void)s;
        (void)how;
        fwd_.sessions_.finish(*this);
    }

    void on_tick(Instant now) override {
        (void)now;
        if (splice_) {
            splice_->check_idle(ctx_.stack.now());
        }
    }

    void abort() override {
        if (splice_) {
            splice_->abort();
            return;
        }
        close_with_reset(fd_.release());
        finish();
    }

private:
    void on_dialed(DialOutcome o, std::unique_ptr<net::TcpConnection> conn) {
        fd_.unwatch();
        if (o != DialOutcome::kConnected) {
            ++fwd_.stats_.failed;
            log::debug_limited(g_log_limit, ctx_.loop.now(), "{}: {} -> {}: {}", fwd_.stats_.name,
                               client_.to_string(), target_.to_string(),
                               dial_outcome_name(o));
            close_with_reset(fd_.release());
            return finish();
        }
        splice_ = std::make_unique<Splice>(ctx_.splices, fwd_.stats_.traffic, *this,
                                           fd_.release(), std::move(conn));
        splice_->start();
    }

    void finish() {
        fd_.reset();
        fwd_.sessions_.finish(*this);
    }

    OutboundForward& fwd_;
    ServiceContext& ctx_;
    io::WatchedFd fd_;
    Endpoint client_;
    Target target_;  // the forward's Target when this client was accepted
    std::unique_ptr<MeshDialer> dialer_;
    std::unique_ptr<Splice> splice_;
};

Result<std::unique_ptr<OutboundForward>> OutboundForward::create(ServiceContext& ctx,
                                                                 const Options& options) {
    auto target = to_target(options.target);
    if (!target) {
        return fail(Errc::kInvalidArgument, "bad target " + options.target.to_string());
    }
    std::unique_ptr<OutboundForward> f(new OutboundForward(ctx, options));
    f->target_ = *target;
    auto l = HostListener::open(ctx.loop, options.bind,
                                [fw = f.get()](io::UniqueFd fd, const Endpoint& client) {
                                    fw->on_accept(std::move(fd), client);
                                });
    if (!l) {
        return l.error();
    }
    f->listener_ = std::move(*l);
    f->name_listener();
    return f;
}

OutboundForward::OutboundForward(ServiceContext& ctx, const Options& options)
    : ctx_(ctx), options_(options), sessions_(ctx.loop, stats_, options.max_connections) {}

OutboundForward::~OutboundForward() = default;

void OutboundForward::on_accept(io::UniqueFd fd, const Endpoint& client) {
    sessions_.start_host_session<Session>(*this, std::move(fd), client);
}

Status OutboundForward::reconfigure(const Options& options) {
    auto target = to_target(options.target);
    if (!target) {
        return fail(Errc::kInvalidArgument, "bad target " + options.target.to_string());
    }
    options_ = options;
    target_ = *target;
    sessions_.set_max_sessions(options.max_connections);
    name_listener();
    return {};
}

void OutboundForward::name_listener() {
    const std::string local =
        listener_ ? listener_->local().to_string() : options_.bind.to_string();
    stats_.name = "tcp-forward " + local + " -> " + options_.target.to_string();
}

void OutboundForward::shutdown() {
    listener_.reset();
    sessions_.abort_all();
}

}  // namespace tunless::proxy
