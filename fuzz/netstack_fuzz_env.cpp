#include "fuzz/netstack_fuzz_env.hpp"

#include <list>
#include <memory>

#include "fuzz/fuzz_input.hpp"
#include "netstack/stack.hpp"
#include "netstack/tcp.hpp"
#include "netstack/udp.hpp"
#include "tests/support/test_rng.hpp"

namespace tunless::fuzz::netstack {

namespace {

constexpr std::size_t kMaxAccepted = 8;

// Checks what lwIP emits: one whole IP packet no larger than the MTU, lengths consistent.
class Sink final : public net::EgressSink {
public:
    void on_egress(ByteView p) override {
        check(!p.empty() && p.size() <= kMtu, "egress packet empty or above the MTU");
        const int version = p[0] >> 4;
        if (version == 4) {
            check(p.size() >= 20 && load_be16(p.data() + 2) == p.size(), "egress IPv4 length");
        } else {
            check(version == 6 && p.size() >= 40 && load_be16(p.data() + 4) + 40u == p.size(),
                  "egress IPv6 length");
        }
        if (capture) capture->emplace_back(p.begin(), p.end());
    }
    std::vector<Bytes>* capture = nullptr;
};

class Env final : public net::TcpAcceptHandler, public net::TcpHandler, public net::UdpHandler {
public:
    Env() {
        net::StackConfig cfg;
        cfg.addresses = {node4(), node6()};
        cfg.mtu = kMtu;
        cfg.heap_limit_bytes = std::size_t{8} * 1024 * 1024;
        cfg.max_tcp_connections = 16;
        auto s = net::Stack::create(cfg, sink_, rng_, now_);
        check(s.has_value(), "Stack::create");
        stack_ = std::move(*s);
        net::TcpListener::Options opt;
        opt.port = kTcpPort;
        opt.max_connections = kMaxAccepted;
        opt.backlog = 4;
        auto l = net::TcpListener::listen(*stack_, opt, *this);
        check(l.has_value(), "listen");
        listener_ = std::move(*l);
        auto u = net::UdpSocket::bind(*stack_, kUdpPort, *this);
        check(u.has_value(), "udp bind");
        udp_ = std::move(*u);
    }

    void run(ByteView input, std::vector<Bytes>* egress) {
        sink_.capture = egress;
        rng_ = test::SeededRng(99);
        auto out = net::TcpConnection::connect(*stack_, remote4(), kOutboundPort, *this);
        if (out.has_value()) conns_.push_back(std::move(*out));
        FuzzInput in(input);
        while (!in.empty()) {
            const std::uint32_t delay = in.u32() % (kMaxDelayMs + 1);
            const std::uint16_t len = in.u16();
            ExactCopy packet(in.bytes(len));
            tick(std::chrono::milliseconds(delay));
            (void)stack_->inject(packet.view());
            reap();
            tick(Duration::zero());
        }
        for (auto& c : conns_) c->abort();
        conns_.clear();
        tick(kSettle);
        sink_.capture = nullptr;
    }

    // TcpAcceptHandler
    void on_accept(net::TcpListener&, std::unique_ptr<net::TcpConnection>& conn) override {
        if (conns_.size() >= kMaxAccepted) return;  // left in place: lwIP sends RST
        conn->set_handler(this);
        conns_.push_back(std::move(conn));
    }
    // TcpHandler: echo what arrives, half-close after the peer's FIN.
    void on_readable(net::TcpConnection& c) override {
        std::uint8_t buf[2048];
        const std::size_t n = c.peek(MutByteView(buf, sizeof buf));
        const std::size_t w = c.write(ByteView(buf, n));
        check(c.consume(w) == w, "consume");
    }
    void on_peer_fin(net::TcpConnection& c) override { (void)c.shutdown_write(); }
    void on_writable(net::TcpConnection& c) override { on_readable(c); }
    void on_error(net::TcpConnection& c, const Error&) override {
        check(c.state() == net::TcpConnection::State::kClosed, "error without close");
    }
    // UdpHandler: echo.
    void on_datagram(net::UdpSocket& s, const net::UdpDatagramInfo& info,
                     ByteView payload) override {
        (void)s.send_to(info.src_ip, info.src_port, payload, info.dst_ip);
    }

private:
    void tick(Duration d) {
        now_ += d;
        stack_->on_timer(now_);
        reap();
    }
    void reap() {
        conns_.remove_if([](const std::unique_ptr<net::TcpConnection>& c) {
            return c->state() == net::TcpConnection::State::kClosed;
        });
    }

    Instant now_ = Instant{} + std::chrono::hours(1);
    test::SeededRng rng_{99};
    Sink sink_;
    std::unique_ptr<net::Stack> stack_;
    std::unique_ptr<net::TcpListener> listener_;
    std::unique_ptr<net::UdpSocket> udp_;
    std::list<std::unique_ptr<net::TcpConnection>> conns_;
};

}  // namespace

IpAddress node4() { return *IpAddress::parse("10.0.0.1"); }
IpAddress node6() { return *IpAddress::parse("fd00::1"); }
IpAddress remote4() { return *IpAddress::parse("10.0.0.2"); }

void run_input(ByteView input, std::vector<Bytes>* egress) {
    // Never destroyed: lwIP cannot be shut down, and exit-time teardown order is not ours.
    static Env* env = new Env();
    env->run(input, egress);
}

void append_record(Bytes& input, std::uint32_t delay_ms, ByteView packet) {
    std::uint8_t head[6];
    store_le32(head, delay_ms);
    store_le16(head + 4, static_cast<std::uint16_t>(packet.size()));
    input.insert(input.end(), head, head + 6);
    input.insert(input.end(), packet.begin(), packet.end());
}

}  // namespace tunless::fuzz::netstack
