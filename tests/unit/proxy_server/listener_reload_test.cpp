// Config reload of the TCP services (Services::apply_reload) inside one process: real loopback
// listeners on a real EventLoop, the mesh forwards on the test lwIP stack. Shows that a changed
// listener is updated in place (same socket, live clients keep their settings, new clients get
// the new ones), removed ones close and reset their clients, added ones open, and a listener
// that cannot bind is reported while the rest of the reload still applies.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "core/config/listener_diff.hpp"
#include "core/config/parser.hpp"
#include "proxy/services.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

constexpr const char* kInterface =
    "[Interface]\nPrivateKey = uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=\n"
    "Address = 10.7.0.1/24\n";

cfg::Config parsed(const std::string& sections) {
    const cfg::ParseReport r = cfg::parse_report(std::string(kInterface) + sections, "node.conf");
    REQUIRE(r.ok());
    return r.config;
}

struct Fixture {
    NetEnv& env = NetEnv::get();
    std::unique_ptr<io::EventLoop> loop = std::move(io::EventLoop::create().value());
    FakeClock wall;
    SeededRng rng{7};
    wg::Device device{rng, wall};
    std::unique_ptr<proxy::Services> services;

    explicit Fixture(const cfg::Config& config) {
        services = std::move(proxy::Services::create(*loop, *env.stack, device, config).value());
    }
    ~Fixture() {
        services->shutdown();
        pump();
        services.reset();
    }

    void pump(int rounds = 3) {
        for (int i = 0; i < rounds; ++i) REQUIRE(loop->run_once(Duration::zero()).has_value());
    }
    proxy::ListenerReloadFailures reload(const cfg::Config& from, const cfg::Config& to) {
        auto failures = services->apply_reload(cfg::diff_listeners(from, to), to);
        pump();
        return failures;
    }
    // The status line of the listener whose name starts with `prefix` ("" if none).
    std::string line(const std::string& prefix) const {
        for (const auto& l : services->status_lines()) {
            if (l.rfind(prefix, 0) == 0) return l;
        }
        return "";
    }
    // The kernel's port of the host listener named "<kind> 127.0.0.1:PORT".
    std::uint16_t port_of(const std::string& kind) const {
        const std::string l = line(kind + " 127.0.0.1:");
        REQUIRE(!l.empty());
        return static_cast<std::uint16_t>(std::stoi(l.substr(kind.size() + 11)));
    }
    // Registrations whose fd is closed. A session that closes its socket before leaving the loop
    // leaves one behind, and add_fd then refuses the next socket that gets the same number.
    std::vector<int> stale_registrations() const {
        std::vector<int> stale;
        for (int fd = 0; fd < 1024; ++fd) {
            if (loop->interest(fd) && ::fcntl(fd, F_GETFD) < 0) stale.push_back(fd);
        }
        return stale;
    }
    int connect_client(std::uint16_t port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pump();
        return fd;
    }
    // Sends `out`, runs the loop until `want` bytes arrived or the peer closed (nullopt).
    std::optional<Bytes> exchange(int fd, const Bytes& out, std::size_t want) {
        if (!out.empty()) {
            REQUIRE(::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == ssize_t(out.size()));
        }
        Bytes got;
        for (int i = 0; i < 200 && got.size() < want; ++i) {
            REQUIRE(loop->run_once(std::chrono::milliseconds(5)).has_value());
            std::uint8_t buf[64];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) return std::nullopt;
            if (n > 0) got.insert(got.end(), buf, buf + n);
        }
        return got;
    }
};

constexpr const char* kBefore =
    "[Socks5]\nBindAddress = 127.0.0.1:0\n"
    "[TCPServerTunnel]\nListenPort = 6101\nTarget = 127.0.0.1:9\n"
    "[TCPServerTunnel]\nListenPort = 6102\nTarget = 127.0.0.1:9\n"
    "[TCPClientTunnel]\nBindAddress = 127.0.0.1:0\nTarget = 10.7.0.2:80\n";

}  // namespace

TEST_CASE("reload: changed listener updated in place, removed closed, added opened") {
    const cfg::Config before = parsed(kBefore);
    Fixture f(before);
    const std::uint16_t socks_port = f.port_of("socks5");
    const std::uint16_t client_tunnel_port = f.port_of("tcp-forward");
    const int early = f.connect_client(socks_port);  // accepted while no auth was configured

    // Credentials for the SOCKS5 listener, forward 6102 gone, 6103 new, an [http] proxy added.
    const cfg::Config after = parsed(
        "[Socks5]\nBindAddress = 127.0.0.1:0\nUsername = u\nPassword = p\n"
        "[http]\nBindAddress = 127.0.0.1:0\n"
        "[TCPServerTunnel]\nListenPort = 6101\nTarget = 127.0.0.1:9\n"
        "[TCPServerTunnel]\nListenPort = 6103\nTarget = 127.0.0.1:9\n"
        "[TCPClientTunnel]\nBindAddress = 127.0.0.1:0\nTarget = 10.7.0.2:80\n");
    CHECK(f.reload(before, after).empty());

    CHECK(f.port_of("socks5") == socks_port);  // the same socket, not reopened
    CHECK(f.port_of("tcp-forward") == client_tunnel_port);
    CHECK(!f.line("http 127.0.0.1:").empty());
    CHECK(!f.line("tcp-forward mesh:6101").empty());
    CHECK(f.line("tcp-forward mesh:6102").empty());
    CHECK(!f.line("tcp-forward mesh:6103").empty());
    // The client accepted before the reload negotiates under the settings it was accepted with.
    CHECK(f.exchange(early, Bytes{5, 1, 0}, 2) == Bytes{5, 0});
    // A new client must authenticate: offering only "no auth" gets 0xFF (RFC 1928 §3).
    const int late = f.connect_client(socks_port);
    CHECK(f.exchange(late, Bytes{5, 1, 0}, 2) == Bytes{5, 0xFF});
    const int authed = f.connect_client(socks_port);
    CHECK(f.exchange(authed, Bytes{5, 1, 2}, 2) == Bytes{5, 2});
    CHECK(f.exchange(authed, Bytes{1, 1, 'u', 1, 'p'}, 2) == Bytes{1, 0});
    ::close(early);
    ::close(late);
    ::close(authed);
}

TEST_CASE("reload: a removed listener resets its live clients and stops listening") {
    const cfg::Config before = parsed(kBefore);
    Fixture f(before);
    const std::uint16_t socks_port = f.port_of("socks5");
    const int live = f.connect_client(socks_port);
    REQUIRE(f.exchange(live, Bytes{5, 1, 0}, 2) == Bytes{5, 0});
    cfg::Config after = before;
    after.socks5.clear();
    CHECK(f.reload(before, after).empty());
    CHECK(f.line("socks5").empty());
    CHECK(f.stale_registrations().empty());
    CHECK(!f.exchange(live, {}, 1).has_value());  // reset
    const int again = f.connect_client(socks_port);
    CHECK(!f.exchange(again, {}, 1).has_value());  // refused: nothing listens there
    ::close(live);
    ::close(again);
}

TEST_CASE("reload: a listener that cannot bind is reported; the rest is applied") {
    const cfg::Config before = parsed(kBefore);
    Fixture f(before);
    const std::uint16_t socks_port = f.port_of("socks5");
    // An [http] proxy on the SOCKS5 listener's port (busy) and a new mesh forward.
    const cfg::Config after =
        parsed(std::string(kBefore) + "[http]\nBindAddress = 127.0.0.1:" +
               std::to_string(socks_port) +
               "\n[TCPServerTunnel]\nListenPort = 6104\nTarget = 127.0.0.1:9\n");
    const auto failures = f.reload(before, after);
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].delta.id.kind == cfg::ListenerKind::kHttp);
    CHECK(failures[0].delta.change == cfg::ListenerChange::kAdded);
    CHECK(!failures[0].kept_previous);
    CHECK(f.line("http").empty());
    CHECK(!f.line("tcp-forward mesh:6104").empty());
    CHECK(f.port_of("socks5") == socks_port);
    // A mesh port that is taken (the forward 6101 already listens) fails the same way. (The
    // parser refuses such a file; the services must still not take anything down.)
    cfg::Config twice = before;
    twice.tcp_server_tunnels.push_back(twice.tcp_server_tunnels[0]);
    const auto f2 = f.reload(before, twice);
    REQUIRE(f2.size() == 1);
    CHECK(f2[0].delta.id.to_string() == "[TCPServerTunnel] ListenPort 6101");
    CHECK(f2[0].delta.change == cfg::ListenerChange::kAdded);
    CHECK(!f.line("tcp-forward mesh:6101").empty());
}

}  // namespace tunless::test
