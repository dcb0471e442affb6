// Socks5Server end to end inside one process: a real loopback client, the server on a real
// EventLoop, MeshDialer against lwIP with a scripted far end. Checks the reply code of every
// connect outcome (docs/proxy.md) and that a successful CONNECT splices.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "proxy/socks5_server.hpp"
#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

struct FakeRoutes final : proxy::MeshRoutes {
    IpPrefix mesh = *IpPrefix::parse("10.7.0.0/24");
    bool session = true;
    Route route(const IpAddress& dst) const override {
        return mesh.contains(dst) ? Route{true, session} : Route{};
    }
};

// Answers from a table on the next loop round, like a real resolver.
struct FakeResolver final : proxy::NameResolver {
    io::EventLoop* loop = nullptr;
    std::map<std::string, IpAddress> names;
    RequestId next = 1;
    RequestId resolve(std::string_view name, Callback cb) override {
        auto it = names.find(std::string(name));
        Result<std::vector<IpAddress>> r =
            it == names.end() ? Result<std::vector<IpAddress>>(fail(Errc::kNotFound, "nx"))
                              : Result<std::vector<IpAddress>>(std::vector<IpAddress>{it->second});
        loop->post([cb = std::move(cb), r]() mutable { cb(std::move(r)); });
        return next++;
    }
    void cancel(RequestId) override {}
};

// ATYP 1 + a.b.c.d + port (RFC 1928 §4).
Bytes ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    return Bytes{1, a, b, c, d, static_cast<std::uint8_t>(port >> 8),
                 static_cast<std::uint8_t>(port)};
}

Bytes domain(const std::string& name, std::uint16_t port) {
    Bytes out;
    out.push_back(3);
    out.push_back(static_cast<std::uint8_t>(name.size()));
    for (char ch : name) out.push_back(static_cast<std::uint8_t>(ch));
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port));
    return out;
}

Bytes connect_request(std::uint8_t cmd, const Bytes& address) {
    Bytes out;
    out.push_back(5);
    out.push_back(cmd);
    out.push_back(0);
    for (std::uint8_t x : address) out.push_back(x);
    return out;
}

struct Fixture {
    NetEnv& env = NetEnv::get();
    std::unique_ptr<io::EventLoop> loop = std::move(io::EventLoop::create().value());
    FakeRoutes routes;
    FakeResolver resolver;
    proxy::SpliceRuntime splices{*loop, proxy::SpliceOptions{}};
    proxy::ServiceContext ctx{*loop, *env.stack, routes, resolver, splices,
                              std::chrono::milliseconds(30), std::chrono::seconds(10)};
    std::unique_ptr<proxy::Socks5Server> server;

    Fixture() {
        env.sink.packets.clear();
        resolver.loop = loop.get();
        resolver.names["mesh.test"] = env.peer4;
        proxy::Socks5Server::Options o;
        o.bind = Endpoint::udp(*IpAddress::parse("127.0.0.1"), 0);
        server = std::move(proxy::Socks5Server::create(ctx, o).value());
    }
    ~Fixture() { server.reset(); }

    void pump(int rounds = 3) {
        for (int i = 0; i < rounds; ++i) REQUIRE(loop->run_once(Duration::zero()).has_value());
    }
    int connect_client(std::uint16_t port = 0) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port != 0 ? port : server->local().port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pump();
        return fd;
    }
    // Sends `out`, then runs the loop (up to ~1 s) until `want` bytes or EOF arrived.
    Bytes exchange(int fd, const Bytes& out, std::size_t want, int max_rounds = 200) {
        if (!out.empty()) REQUIRE(::send(fd, out.data(), out.size(), 0) == ssize_t(out.size()));
        Bytes got;
        for (int i = 0; i < max_rounds && got.size() < want; ++i) {
            REQUIRE(loop->run_once(std::chrono::milliseconds(5)).has_value());
            std::uint8_t buf[512];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n == 0) break;
            if (n > 0) got.insert(got.end(), buf, buf + n);
        }
        return got;
    }
    // Greeting (no auth) + CONNECT request; returns the reply's REP byte (or -1).
    int request(int fd, std::uint8_t cmd, const Bytes& atyp_addr_port) {
        REQUIRE(exchange(fd, Bytes{5, 1, 0}, 2) == Bytes{5, 0});
        const Bytes rep = exchange(fd, connect_request(cmd, atyp_addr_port), 10);
        return rep.size() >= 2 ? rep[1] : -1;
    }
    // The SYN lwIP sent to dport, left in the capture for a ScriptedPeer to take.
    std::optional<ip::Parsed> find_syn(std::uint16_t dport) {
        for (const Bytes& p : env.sink.packets) {
            auto parsed = ip::parse(p);
            if (parsed && parsed->proto == ipproto::kTcp && parsed->tcp.dport == dport &&
                (parsed->tcp.flags & ip::kSyn) != 0) {
                return parsed;
            }
        }
        return std::nullopt;
    }
};

}  // namespace

TEST_CASE("socks5 server: outside AllowedIPs 0x02, BIND 0x07, unknown name 0x04") {
    Fixture f;
    int c = f.connect_client();
    CHECK(f.request(c, 1, ipv4(192, 168, 1, 1, 80)) == 0x02);
    ::close(c);
    c = f.connect_client();
    CHECK(f.request(c, 2, ipv4(10, 7, 0, 2, 80)) == 0x07);
    ::close(c);
    c = f.connect_client();
    CHECK(f.request(c, 1, domain("nowhere.test", 80)) == 0x04);
    ::close(c);
    f.pump();
    CHECK(f.server->stats().active == 0);
    CHECK(f.server->stats().rejected == 1);  // BIND
    CHECK(f.server->stats().to_line().find("rejects: bind_unsupported=1") != std::string::npos);
    CHECK(f.server->stats().failed == 2);
    CHECK(f.env.sink.packets.empty());       // nothing left for the mesh
}

TEST_CASE("socks5 server: CONNECT by name reaches the mesh, replies 0x00 and splices") {
    Fixture f;
    const int c = f.connect_client();
    REQUIRE(f.exchange(c, Bytes{5, 1, 0}, 2) == Bytes{5, 0});
    const Bytes req = connect_request(1, domain("mesh.test", 7001));
    REQUIRE(::send(c, req.data(), req.size(), 0) == ssize_t(req.size()));
    std::optional<ip::Parsed> syn;
    for (int i = 0; i < 50 && !syn; ++i) {
        f.pump(1);
        syn = f.find_syn(7001);
    }
    REQUIRE(syn.has_value());
    ScriptedPeer peer(f.env.peer4, 7001, f.env.addr4, syn->tcp.sport);
    f.env.take([&](const ip::Parsed& p) { return p.tcp.dport == 7001; });
    peer.accept_syn(*syn);
    const Bytes rep = f.exchange(c, {}, 10);
    REQUIRE(rep.size() == 10);
    CHECK(rep[1] == 0x00);
    CHECK(rep[3] == 0x01);  // BND.ADDR: our IPv4 mesh address
    CHECK(Bytes(rep.begin() + 4, rep.begin() + 8) == Bytes{10, 7, 0, 1});
    peer.take();
    peer.send(ip::kAck | ip::kPsh, text("banner"));
    CHECK(f.exchange(c, {}, 6) == text("banner"));
    REQUIRE(::send(c, "cmd", 3, 0) == 3);
    f.pump();
    peer.take();
    CHECK(peer.received() == text("cmd"));
    CHECK(f.server->stats().active == 1);
    ::close(c);
    f.pump();
    peer.take();
    CHECK(peer.got_fin());
}

TEST_CASE("socks5 server: RST from the destination 0x05; timeouts 0x06 with a session, 0x04 without") {
    Fixture f;
    int c = f.connect_client();
    REQUIRE(f.exchange(c, Bytes{5, 1, 0}, 2) == Bytes{5, 0});
    const Bytes req = connect_request(1, ipv4(10, 7, 0, 2, 7002));
    REQUIRE(::send(c, req.data(), req.size(), 0) == ssize_t(req.size()));
    f.pump();
    auto syn = f.find_syn(7002);
    REQUIRE(syn.has_value());
    ScriptedPeer peer(f.env.peer4, 7002, f.env.addr4, syn->tcp.sport);
    peer.take();  // learns lwIP's ISN from the SYN
    peer.send(ip::kRst | ip::kAck);
    Bytes rep = f.exchange(c, {}, 10);
    REQUIRE(rep.size() >= 2);
    CHECK(rep[1] == 0x05);
    ::close(c);

    c = f.connect_client();  // nothing answers the SYN; the peer's session is up
    CHECK(f.request(c, 1, ipv4(10, 7, 0, 3, 7003)) == 0x06);
    ::close(c);
    f.routes.session = false;  // ... and now it has none: the handshake failed
    c = f.connect_client();
    CHECK(f.request(c, 1, ipv4(10, 7, 0, 3, 7004)) == 0x04);
    ::close(c);
    f.pump();
    CHECK(f.server->stats().active == 0);
    CHECK(f.server->stats().failed == 3);
}

TEST_CASE("socks5 server: over MaxConnections REP 0x01 (16 clients at a time), then RST") {
    Fixture f;
    proxy::Socks5Server::Options o;
    o.bind = Endpoint::udp(*IpAddress::parse("127.0.0.1"), 0);
    o.max_connections = 1;
    auto limited = std::move(proxy::Socks5Server::create(f.ctx, o).value());
    const std::uint16_t port = limited->local().port;
    const int admitted = f.connect_client(port);  // holds the only slot while it negotiates
    const int refused = f.connect_client(port);
    CHECK(f.request(refused, 1, ipv4(10, 7, 0, 2, 80)) == 0x01);
    CHECK(f.exchange(refused, {}, 1).empty());  // closed after the reply
    ::close(refused);
    CHECK(limited->stats().refused == 1);
    CHECK(limited->stats().active == 1);
    CHECK(limited->stats().failed == 0);
    // Silent clients take every refusal slot; the one after them is reset at once.
    std::vector<int> silent;
    for (std::uint32_t i = 0; i < proxy::kMaxRefusingSessions; ++i) {
        silent.push_back(f.connect_client(port));
    }
    const int reset = f.connect_client(port);
    f.pump();
    std::uint8_t byte = 0;
    const ssize_t n = ::recv(reset, &byte, 1, 0);
    CHECK((n == 0 || (n < 0 && errno == ECONNRESET)));
    ::close(reset);
    CHECK(limited->stats().refused == 2 + proxy::kMaxRefusingSessions);
    CHECK(limited->stats().active == 1);
    // The admitted client is untouched: its CONNECT goes to the mesh (and times out there).
    CHECK(f.request(admitted, 1, ipv4(10, 7, 0, 3, 7005)) == 0x06);
    ::close(admitted);
    for (int fd : silent) ::close(fd);
    f.pump();
    limited.reset();
    f.env.sink.packets.clear();
}

TEST_CASE("socks5 server: at the stack's max_tcp_connections the CONNECT gets REP 0x01") {
    Fixture f;
    RecordingTcpHandler handler;
    std::vector<std::unique_ptr<net::TcpConnection>> conns;
    while (f.env.stack->stats().tcp_connections < f.env.stack->config().max_tcp_connections) {
        auto c = net::TcpConnection::connect(*f.env.stack, f.env.peer4, 7006, handler);
        REQUIRE(c.has_value());
        conns.push_back(std::move(c.value()));
    }
    const int c = f.connect_client();
    CHECK(f.request(c, 1, ipv4(10, 7, 0, 2, 7007)) == 0x01);
    ::close(c);
    f.pump();
    CHECK(f.server->stats().failed == 1);
    CHECK(conns.size() == f.env.stack->stats().tcp_connections);  // none of them was touched
    conns.clear();
    f.env.sink.packets.clear();
}

}  // namespace tunless::test
