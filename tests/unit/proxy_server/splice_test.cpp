// Splice between a socketpair (host side) and an lwIP connection accepted from a scripted
// peer (mesh side), run on a real EventLoop: data both ways, half-closes, backpressure in
// each direction (window withheld / EPOLLIN off), reset propagation.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "proxy/splice.hpp"
#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"
#include "transports/event_loop.hpp"

namespace tunless::test {
namespace {

using proxy::Splice;
using proxy::SpliceEnd;

struct EndRecorder final : proxy::SpliceObserver {
    std::optional<SpliceEnd> how;
    int calls = 0;
    void on_splice_end(Splice&, SpliceEnd h) override {
        ++calls;
        how = h;
    }
};

struct Fixture {
    NetEnv& env = NetEnv::get();
    std::unique_ptr<io::EventLoop> loop;
    RecordingTcpHandler unused;
    RecordingAcceptHandler acceptor;
    std::unique_ptr<net::TcpListener> listener;
    std::optional<ScriptedPeer> peer;
    std::unique_ptr<proxy::SpliceRuntime> rt;
    proxy::TrafficCounters counters;
    EndRecorder ends;
    std::unique_ptr<Splice> splice;
    int host_fd = -1;
    int client = -1;

    explicit Fixture(std::uint16_t port) {
        env.sink.packets.clear();
        loop = std::move(io::EventLoop::create().value());
        acceptor.handler = &unused;
        net::TcpListener::Options o;
        o.port = port;
        listener = std::move(net::TcpListener::listen(*env.stack, o, acceptor).value());
        peer.emplace(env.peer4, 42000, env.addr4, port);
        peer->handshake();
        REQUIRE(acceptor.accepted.size() == 1);
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
        host_fd = sv[0];
        client = sv[1];
        proxy::SpliceOptions options;
        options.idle_timeout = std::chrono::seconds(1);
        rt = std::make_unique<proxy::SpliceRuntime>(*loop, options);
        splice = std::make_unique<Splice>(*rt, counters, ends, io::UniqueFd(sv[0]),
                                          std::move(acceptor.accepted[0]));
        splice->start();
    }
    ~Fixture() {
        splice.reset();
        rt.reset();
        ::close(client);
    }
    void pump(int rounds = 4) {
        for (int i = 0; i < rounds; ++i) REQUIRE(loop->run_once(Duration::zero()).has_value());
    }
    Bytes client_read() {
        Bytes out;
        std::uint8_t buf[65536];
        for (;;) {
            const ssize_t n = ::recv(client, buf, sizeof buf, 0);
            if (n <= 0) break;
            out.insert(out.end(), buf, buf + n);
        }
        return out;
    }
    // Sends what the host socket takes of data[sent..] without blocking; advances `sent`.
    void client_send(const Bytes& data, std::size_t& sent) {
        if (sent >= data.size()) return;
        const ssize_t n = ::send(client, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    bool host_reading() const {
        auto i = loop->interest(host_fd);
        return i && (*i & io::kRead) != 0;
    }
};

}  // namespace

TEST_CASE("splice: bytes both ways, half-close each way, clean close") {
    Fixture f(9101);
    f.peer->send(ip::kAck | ip::kPsh, text("hello from the mesh"));
    f.pump();
    CHECK(f.client_read() == text("hello from the mesh"));
    CHECK(f.splice->mesh().readable_bytes() == 0);  // consumed exactly what the socket took

    REQUIRE(::send(f.client, "hi mesh", 7, 0) == 7);
    f.pump();
    f.peer->take();
    CHECK(f.peer->received() == text("hi mesh"));
    f.peer->ack_all();

    ::shutdown(f.client, SHUT_WR);  // host EOF -> our FIN on the mesh side
    f.pump();
    f.peer->take();
    CHECK(f.peer->got_fin());
    CHECK(!f.ends.how.has_value());  // the other direction still runs

    f.peer->send(ip::kAck | ip::kPsh, text("late"));
    f.peer->send(ip::kAck | ip::kFin);
    f.pump();
    CHECK(f.client_read() == text("late"));
    char c;
    CHECK(::recv(f.client, &c, 1, 0) == 0);  // mesh FIN -> SHUT_WR on the host socket
    REQUIRE(f.ends.how.has_value());
    CHECK(*f.ends.how == SpliceEnd::kClosed);
    CHECK(f.ends.calls == 1);
    CHECK(f.counters.to_host == 23);
    CHECK(f.counters.to_mesh == 7);
}

TEST_CASE("splice: a host that does not read keeps the peer's window closed, reading reopens it") {
    Fixture f(9102);
    int small = 4096;
    ::setsockopt(f.host_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const Bytes data = pattern(150 * 1360, 3);  // within the 256 KiB window;
    for (std::size_t off = 0; off < data.size(); off += 1360) {
        f.peer->send(ip::kAck | ip::kPsh, ByteView(data).subspan(off, 1360));
    }
    f.pump();
    f.peer->take();
    const std::size_t held = f.splice->mesh().readable_bytes();
    CHECK(held > 100 * 1024);  // most of it waits in lwIP, not in a buffer of ours
    CHECK(f.peer->lwip_window() < 256 * 1024 - 100 * 1024);  // and the window says so

    Bytes got;
    for (int i = 0; i < 2000 && got.size() < data.size(); ++i) {
        const Bytes part = f.client_read();
        got.insert(got.end(), part.begin(), part.end());
        f.pump(1);
    }
    CHECK(got == data);
    CHECK(f.splice->mesh().readable_bytes() == 0);
    f.peer->take();
    // Reopened: the last pure window update is at most TCP_WND_UPDATE_THRESHOLD (64 KiB) old.
    CHECK(f.peer->lwip_window() > (256 - 64) * 1024);
}

TEST_CASE("splice: reading from the host stops while lwIP's send buffer is full") {
    Fixture f(9103);
    f.peer->window = 0;  // the mesh peer stops accepting data
    f.peer->ack_all();
    const Bytes data = pattern(700 * 1024, 9);
    std::size_t sent = 0;
    for (int i = 0; i < 200 && sent < data.size(); ++i) {
        f.client_send(data, sent);
        f.pump(1);
    }
    CHECK(sent < data.size());  // the socket backed up: the splice stopped reading
    CHECK_FALSE(f.host_reading());
    CHECK(f.counters.to_mesh <= 256 * 1024);  // no more than lwIP's send buffer taken

    f.peer->window = 0xFFFF;
    for (int i = 0; i < 5000 && f.peer->received_bytes() < data.size(); ++i) {
        f.client_send(data, sent);
        f.peer->take();
        f.peer->ack_all();
        f.pump(1);
    }
    CHECK(f.peer->received() == data);
    CHECK(f.host_reading());
}

TEST_CASE("splice: a reset from the mesh peer resets the host side") {
    Fixture f(9104);
    f.peer->send(ip::kRst | ip::kAck);
    f.pump();
    REQUIRE(f.ends.how.has_value());
    CHECK(*f.ends.how == SpliceEnd::kMeshReset);
    char c;
    CHECK(::recv(f.client, &c, 1, 0) <= 0);
}

TEST_CASE("splice: a failed host socket resets the mesh side") {
    Fixture f(9105);
    f.peer->send(ip::kAck | ip::kPsh, text("x"));
    ::close(f.client);  // sends to the host now fail with EPIPE
    f.client = ::open("/dev/null", O_RDONLY);
    f.pump();
    f.peer->take();
    REQUIRE(f.ends.how.has_value());
    CHECK(*f.ends.how != SpliceEnd::kClosed);
    CHECK(f.peer->got_rst());
}

TEST_CASE("splice: idle for the idle timeout resets both sides; traffic postpones it") {
    Fixture f(9106);
    f.env.advance(std::chrono::milliseconds(600));
    f.peer->send(ip::kAck | ip::kPsh, text("keepalive-ish"));
    f.pump();
    f.env.advance(std::chrono::milliseconds(600));
    CHECK_FALSE(f.splice->check_idle(f.env.stack->now()));  // 0.6 s since the last byte
    f.env.advance(std::chrono::milliseconds(600));
    CHECK(f.splice->check_idle(f.env.stack->now()));
    REQUIRE(f.ends.how.has_value());
    CHECK(*f.ends.how == SpliceEnd::kIdle);
    f.peer->take();
    CHECK(f.peer->got_rst());
}

TEST_CASE("splice: a host that hangs up while the mesh side is full leaves the loop, then drains") {
    Fixture f(9107);
    f.peer->window = 0;  // the mesh peer accepts no data for now
    f.peer->ack_all();
    f.peer->send(ip::kAck | ip::kFin);  // mesh FIN: the splice shuts the host's write side
    f.pump();
    char c;
    REQUIRE(::recv(f.client, &c, 1, 0) == 0);

    const Bytes data = pattern(600 * 1024, 5);
    std::size_t sent = 0;
    for (int i = 0; i < 200 && sent < data.size(); ++i) {
        f.client_send(data, sent);
        f.pump(1);
    }
    REQUIRE_FALSE(f.host_reading());  // backed up behind the closed window
    // The host's FIN makes both directions of the socket down: EPOLLHUP, level-triggered and
    // reported with no interest set. Polling on would wake the loop forever; the splice parks.
    ::shutdown(f.client, SHUT_WR);
    f.pump();
    CHECK_FALSE(f.loop->interest(f.host_fd).has_value());
    CHECK_FALSE(f.ends.how.has_value());

    f.peer->window = 0xFFFF;  // the peer reads again: the parked socket drains from on_writable
    bool fin = false;
    for (int i = 0; i < 5000 && !fin; ++i) {
        f.peer->take();
        fin = f.peer->got_fin();
        f.peer->ack_all();
        f.pump(1);
    }
    CHECK(fin);
    CHECK(f.peer->received() == Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(sent)));
    REQUIRE(f.ends.how.has_value());
    CHECK(*f.ends.how == SpliceEnd::kClosed);
}

}  // namespace tunless::test
