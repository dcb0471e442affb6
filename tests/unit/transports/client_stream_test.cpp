// ClientStream against loopback servers: plain TCP and TLS (CA chain, name check, SHA-256 pin),
// refused and silent listeners, backpressure through TLS, peer close. The servers run on a
// thread with blocking Mbed TLS (the client under test is the non-blocking one, on the loop).
// Certificates come from the openssl command line, generated once into a temporary directory
// that is removed at exit; std::system waits for each command, so no process outlives it.
#include <doctest/doctest.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "tests/unit/transports/transport_test_support.hpp"
#include "transports/client_stream.hpp"
#include "transports/clock.hpp"
#include "transports/host_resolver.hpp"

using namespace tunless;
using namespace tunless::io;
using namespace tunless::io::test;

namespace {

// ---- certificates ---------------------------------------------------------------------------

struct Certs {
    std::filesystem::path dir;
    std::string ca, leaf, leaf_key, self, self_key;
    ~Certs() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

void run(const std::string& cmd) {
    REQUIRE_MESSAGE(std::system((cmd + " >/dev/null 2>&1").c_str()) == 0, cmd);
}

const Certs& certs() {
    static Certs c = [] {
        Certs out;
        char tmpl[] = "/tmp/tunless-stream-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        out.dir = tmpl;
        const std::string d = out.dir.string() + "/";
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        run("openssl req -x509" + ec + " -keyout " + d + "ca.key -out " + d +
            "ca.pem -days 2 -subj /CN=tunless-test-ca");
        run("openssl req" + ec + " -keyout " + d + "leaf.key -out " + d +
            "leaf.csr -subj /CN=localhost");
        // Written directly: run() sends stdout to /dev/null, which would win over a "> file".
        std::ofstream(d + "leaf.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                         "basicConstraints=CA:FALSE\n"
                                         "extendedKeyUsage=serverAuth\n";
        run("openssl x509 -req -in " + d + "leaf.csr -CA " + d + "ca.pem -CAkey " + d +
            "ca.key -CAcreateserial -days 2 -extfile " + d + "leaf.ext -out " + d + "leaf.pem");
        run("openssl req -x509" + ec + " -keyout " + d + "self.key -out " + d +
            "self.pem -days 2 -subj /CN=derp.test");
        out.ca = d + "ca.pem";
        out.leaf = d + "leaf.pem";
        out.leaf_key = d + "leaf.key";
        out.self = d + "self.pem";
        out.self_key = d + "self.key";
        return out;
    }();
    return c;
}

std::array<std::uint8_t, 32> der_sha256(const std::string& pem_file) {
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    REQUIRE(mbedtls_x509_crt_parse_file(&crt, pem_file.c_str()) == 0);
    std::array<std::uint8_t, 32> d{};
    REQUIRE(mbedtls_sha256_ret(crt.raw.p, crt.raw.len, d.data(), 0) == 0);
    mbedtls_x509_crt_free(&crt);
    return d;
}

// ---- loopback servers -----------------------------------------------------------------------

// A TCP socket bound to 127.0.0.1 (or ::1) on a free port; -1 when the family is missing.
int listen_loopback(std::uint16_t& port, bool do_listen = true, bool v6 = false) {
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && v6) return -1;
    REQUIRE(fd >= 0);
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_loopback;
    sockaddr_in a4{};
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto* a = v6 ? reinterpret_cast<sockaddr*>(&a6) : reinterpret_cast<sockaddr*>(&a4);
    socklen_t len = v6 ? sizeof a6 : sizeof a4;
    if (::bind(fd, a, len) != 0) {
        ::close(fd);
        REQUIRE(v6);
        return -1;
    }
    if (do_listen) REQUIRE(::listen(fd, 4) == 0);
    REQUIRE(::getsockname(fd, a, &len) == 0);
    port = ntohs(v6 ? a6.sin6_port : a4.sin_port);
    return fd;
}

enum class Mode { kEcho, kGreetAndClose };

// Blocking BIO for the server thread. Not mbedtls_net_send: it uses write(2), and a client
// that hung up would kill the test process with SIGPIPE.
int server_send(void* ctx, const unsigned char* buf, std::size_t len) {
    const ssize_t n = ::send(*static_cast<int*>(ctx), buf, len, MSG_NOSIGNAL);
    return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : static_cast<int>(n);
}
int server_recv(void* ctx, unsigned char* buf, std::size_t len) {
    const ssize_t n = ::recv(*static_cast<int*>(ctx), buf, len, 0);
    return n < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : static_cast<int>(n);
}

// Accepts one connection on a thread, optionally speaks TLS (blocking Mbed TLS), then echoes
// or says "bye" and closes. Every blocking call has a 5 s socket timeout and the destructor
// shuts the sockets down, so the thread always ends and is joined.
class Server {
public:
    Server(Mode mode, const std::string* cert, const std::string* key, bool v6 = false)
        : mode_(mode) {
        listen_fd_ = listen_loopback(port_, true, v6);
        if (listen_fd_ < 0) return;  // no IPv6 here: available() is false
        if (cert != nullptr) {
            cert_ = *cert;
            key_ = *key;
        }
        thread_ = std::thread([this] { serve(); });
    }
    ~Server() {
        stop_ = true;
        const int c = conn_fd_.load();
        if (c >= 0) ::shutdown(c, SHUT_RDWR);
        if (thread_.joinable()) thread_.join();
        if (listen_fd_ >= 0) ::close(listen_fd_);
    }
    bool available() const { return listen_fd_ >= 0; }
    std::uint16_t port() const { return port_; }
    bool handshake_failed() const { return handshake_failed_; }

private:
    void serve() {
        pollfd p{listen_fd_, POLLIN, 0};
        for (int i = 0; i < 100 && !stop_; ++i) {
            if (::poll(&p, 1, 100) == 1) break;
        }
        if (stop_ || (p.revents & POLLIN) == 0) return;
        const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        timeval tv{5, 0};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        conn_fd_ = c;
        if (cert_.empty()) {
            serve_plain(c);
        } else {
            serve_tls(c);
        }
        conn_fd_ = -1;
        ::close(c);
    }

    void serve_plain(int c) {
        if (mode_ == Mode::kGreetAndClose) {
            (void)::send(c, "bye", 3, MSG_NOSIGNAL);
            return;
        }
        char buf[16384];
        for (;;) {
            const ssize_t n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) return;
            for (ssize_t off = 0; off < n;) {
                const auto left = static_cast<std::size_t>(n - off);
                const ssize_t w = ::send(c, buf + off, left, MSG_NOSIGNAL);
                if (w <= 0) return;
                off += w;
            }
        }
    }

    void serve_tls(int c) {
        mbedtls_entropy_context entropy;
        mbedtls_ctr_drbg_context drbg;
        mbedtls_x509_crt crt;
        mbedtls_pk_context key;
        mbedtls_ssl_config conf;
        mbedtls_ssl_context ssl;
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_x509_crt_init(&crt);
        mbedtls_pk_init(&key);
        mbedtls_ssl_config_init(&conf);
        mbedtls_ssl_init(&ssl);
        const bool ok =
            mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0) == 0 &&
            mbedtls_x509_crt_parse_file(&crt, cert_.c_str()) == 0 &&
            mbedtls_pk_parse_keyfile(&key, key_.c_str(), nullptr) == 0 &&
            mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT) == 0;
        if (ok) {
            mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
            (void)mbedtls_ssl_conf_own_cert(&conf, &crt, &key);
            (void)mbedtls_ssl_setup(&ssl, &conf);
            mbedtls_ssl_set_bio(&ssl, &c, server_send, server_recv, nullptr);
            if (mbedtls_ssl_handshake(&ssl) != 0) {
                handshake_failed_ = true;
            } else if (mode_ == Mode::kGreetAndClose) {
                (void)mbedtls_ssl_write(&ssl, reinterpret_cast<const unsigned char*>("bye"), 3);
                (void)mbedtls_ssl_close_notify(&ssl);
            } else {
                echo_tls(ssl);
            }
        }
        mbedtls_ssl_free(&ssl);
        mbedtls_ssl_config_free(&conf);
        mbedtls_pk_free(&key);
        mbedtls_x509_crt_free(&crt);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }

    static void echo_tls(mbedtls_ssl_context& ssl) {
        unsigned char buf[16384];
        for (;;) {
            const int n = mbedtls_ssl_read(&ssl, buf, sizeof buf);
            if (n <= 0) return;
            for (int off = 0; off < n;) {
                const int w = mbedtls_ssl_write(&ssl, buf + off, static_cast<std::size_t>(n - off));
                if (w <= 0) return;
                off += w;
            }
        }
    }

    Mode mode_;
    std::string cert_, key_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<int> conn_fd_{-1};
    std::atomic<bool> stop_{false};
    std::atomic<bool> handshake_failed_{false};
    std::thread thread_;
};

// ---- client side ----------------------------------------------------------------------------

struct Recorder final : ClientStreamHandler {
    void on_connected() override {
        connected = true;
        if (connected_hook) connected_hook();
    }
    void on_data(ByteView bytes) override {
        data.insert(data.end(), bytes.begin(), bytes.end());
        if (data_hook) data_hook();
    }
    void on_writable() override {
        ++writable;
        if (writable_hook) writable_hook();
    }
    void on_closed(const Error& why) override {
        ++closed_calls;
        closed = why;
    }
    std::string text() const { return std::string(data.begin(), data.end()); }

    bool connected = false;
    Bytes data;
    int writable = 0;
    int closed_calls = 0;
    std::optional<Error> closed;
    std::function<void()> connected_hook, data_hook, writable_hook;
};

struct Fixture {
    std::unique_ptr<EventLoop> loop = make_loop();
    HostResolver resolver{*loop, {}};
    Recorder rec;

    std::unique_ptr<ClientStream> start(ClientStreamOptions o) {
        auto s = ClientStream::start(*loop, resolver, o, rec);
        REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
        return std::move(*s);
    }
    // Runs the loop until `done` (bounded by 10 s of wall time).
    void run_until(const std::function<bool()>& done) {
        const Instant end = mono_now() + std::chrono::seconds(10);
        while (!done() && mono_now() < end) REQUIRE(loop->run_once(std::chrono::milliseconds(20)));
        REQUIRE(done());
    }
};

ClientStreamOptions to(std::uint16_t port, const char* host = "127.0.0.1") {
    ClientStreamOptions o;
    o.host = host;
    o.port = port;
    return o;
}

ClientStreamOptions tls_to(std::uint16_t port, const char* server_name) {
    ClientStreamOptions o = to(port);
    o.tls.enabled = true;
    o.tls.server_name = server_name;
    o.tls.ca_file = certs().ca;
    return o;
}

ByteView view(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("plain TCP: bytes written before the connect arrive, the echo comes back") {
    Server server(Mode::kEcho, nullptr, nullptr);
    Fixture f;
    auto s = f.start(to(server.port()));
    CHECK(s->write(view("hello ")));  // queued while resolving
    CHECK_FALSE(f.rec.connected);     // never inside start()
    f.run_until([&] { return f.rec.connected; });
    CHECK(s->write(view("world")));
    f.run_until([&] { return f.rec.data.size() == 11; });
    CHECK(f.rec.text() == "hello world");
    CHECK(s->stats().bytes_sent == 11);
    CHECK(s->stats().bytes_received == 11);
    REQUIRE(s->remote());
    CHECK(s->remote()->to_string() == "127.0.0.1:" + std::to_string(server.port()));
    s->close();
    CHECK(s->closed());
    CHECK(s->write(view("x")).error().code == Errc::kClosed);
    CHECK(f.loop->run_once(std::chrono::milliseconds(10)));
    CHECK(f.rec.closed_calls == 0);  // close() is silent
}

TEST_CASE("plain TCP over IPv6 loopback") {
    Server server(Mode::kEcho, nullptr, nullptr, /*v6=*/true);
    if (!server.available()) {
        MESSAGE("no IPv6 loopback here; skipped");
        return;
    }
    Fixture f;
    auto s = f.start(to(server.port(), "::1"));
    CHECK(s->write(view("six")));
    f.run_until([&] { return f.rec.data.size() == 3 || f.rec.closed; });
    CHECK(f.rec.text() == "six");
    CHECK(s->remote()->to_string() == "[::1]:" + std::to_string(server.port()));
}

TEST_CASE("a name resolves and the first answering address wins") {
    Server server(Mode::kEcho, nullptr, nullptr);
    Fixture f;
    // localhost may come back as ::1 first: nothing listens there, so the fallback is used.
    auto s = f.start(to(server.port(), "localhost"));
    f.run_until([&] { return f.rec.connected || f.rec.closed; });
    REQUIRE(f.rec.connected);
    CHECK(s->remote()->ip.to_string() == "127.0.0.1");
    CHECK(s->stats().connect_attempts >= 1);
}

TEST_CASE("TLS with a CA file: verified by chain and name, round trip") {
    Server server(Mode::kEcho, &certs().leaf, &certs().leaf_key);
    Fixture f;
    auto s = f.start(tls_to(server.port(), "localhost"));
    CHECK(s->write(view("ping")));
    f.run_until([&] { return f.rec.data.size() == 4 || f.rec.closed; });
    CHECK(f.rec.connected);
    CHECK(f.rec.text() == "ping");
    CHECK(f.rec.closed_calls == 0);
}

TEST_CASE("TLS: a certificate for another name is rejected") {
    Server server(Mode::kEcho, &certs().leaf, &certs().leaf_key);
    Fixture f;
    auto s = f.start(tls_to(server.port(), "wrong.example"));
    CHECK(s->write(view("secret")));
    f.run_until([&] { return f.rec.closed.has_value(); });
    CHECK_FALSE(f.rec.connected);
    CHECK(f.rec.closed->code == Errc::kAuthFailed);
    CHECK(f.rec.closed->message.find("CN") != std::string::npos);
    CHECK(s->stats().bytes_sent == 0);
}

// Mbed TLS 2.28 cannot match an IP literal; the session checks the iPAddress SAN itself.
TEST_CASE("TLS to an IP literal: matched against the certificate's IP SAN, not its CN") {
    Server server(Mode::kEcho, &certs().leaf, &certs().leaf_key);
    SUBCASE("listed address") {
        Fixture f;
        auto s = f.start(tls_to(server.port(), "127.0.0.1"));
        CHECK(s->write(view("ping")));
        f.run_until([&] { return f.rec.data.size() == 4 || f.rec.closed; });
        CHECK(f.rec.connected);
        CHECK(f.rec.text() == "ping");
    }
    SUBCASE("an address the certificate does not list") {
        Fixture f;
        auto s = f.start(tls_to(server.port(), "127.0.0.2"));
        CHECK(s->write(view("secret")));
        f.run_until([&] { return f.rec.closed.has_value(); });
        CHECK_FALSE(f.rec.connected);
        CHECK(f.rec.closed->code == Errc::kAuthFailed);
        CHECK(f.rec.closed->message.find("not issued for 127.0.0.2") != std::string::npos);
        CHECK(s->stats().bytes_sent == 0);
    }
}

TEST_CASE("TLS: a certificate from an unknown CA is rejected") {
    Server server(Mode::kEcho, &certs().self, &certs().self_key);
    Fixture f;
    auto s = f.start(tls_to(server.port(), "derp.test"));
    f.run_until([&] { return f.rec.closed.has_value(); });
    CHECK(f.rec.closed->code == Errc::kAuthFailed);
    CHECK(f.rec.closed->message.find("not correctly signed") != std::string::npos);
}

TEST_CASE("TLS: a sha256-raw pin accepts exactly the pinned self-signed certificate") {
    const auto pin = der_sha256(certs().self);
    SUBCASE("matching pin, whatever the name") {
        Server server(Mode::kEcho, &certs().self, &certs().self_key);
        Fixture f;
        ClientStreamOptions o = to(server.port());
        o.tls.enabled = true;
        o.tls.server_name = "derp.example.net";
        o.tls.pinned_cert_sha256 = pin;
        auto s = f.start(o);
        CHECK(s->write(view("derp")));
        f.run_until([&] { return f.rec.data.size() == 4 || f.rec.closed; });
        CHECK(f.rec.text() == "derp");
    }
    SUBCASE("one bit off") {
        Server server(Mode::kEcho, &certs().self, &certs().self_key);
        Fixture f;
        ClientStreamOptions o = to(server.port());
        o.tls.enabled = true;
        o.tls.pinned_cert_sha256 = pin;
        (*o.tls.pinned_cert_sha256)[31] ^= 1;
        auto s = f.start(o);
        CHECK(s->write(view("secret")));
        f.run_until([&] { return f.rec.closed.has_value(); });
        CHECK_FALSE(f.rec.connected);
        CHECK(f.rec.closed->code == Errc::kAuthFailed);
        CHECK(s->stats().bytes_sent == 0);
    }
}

TEST_CASE("connection refused is reported as kRefused") {
    std::uint16_t port = 0;
    const int bound = listen_loopback(port, /*do_listen=*/false);  // holds the port, no listener
    Fixture f;
    auto s = f.start(to(port));
    f.run_until([&] { return f.rec.closed.has_value(); });
    CHECK(f.rec.closed->code == Errc::kRefused);
    CHECK(f.rec.closed_calls == 1);
    ::close(bound);
}

TEST_CASE("a server that accepts TCP but never answers the handshake times out") {
    std::uint16_t port = 0;
    const int fd = listen_loopback(port);  // the kernel completes TCP; nobody ever accepts
    Fixture f;
    ClientStreamOptions o = tls_to(port, "localhost");
    o.connect_timeout = std::chrono::milliseconds(300);
    const Instant t0 = mono_now();
    auto s = f.start(o);
    f.run_until([&] { return f.rec.closed.has_value(); });
    CHECK(f.rec.closed->code == Errc::kTimedOut);
    CHECK(f.rec.closed->message.find("TLS handshake") != std::string::npos);
    CHECK(mono_now() - t0 >= std::chrono::milliseconds(300));
    CHECK(f.loop->stats().fd_events <= 3);  // waiting for the handshake reply does not spin
    ::close(fd);
}

TEST_CASE("1 MiB through TLS with a small send buffer: kLimitReached, on_writable, pauses") {
    Server server(Mode::kEcho, &certs().leaf, &certs().leaf_key);
    Fixture f;
    ClientStreamOptions o = tls_to(server.port(), "localhost");
    o.max_send_buffer = 64 * 1024;
    auto s = f.start(o);
    const Bytes payload = pattern(1024 * 1024, 3);
    std::size_t offset = 0;
    int refusals = 0;
    auto pump = [&] {
        while (offset < payload.size()) {
            const std::size_t n = std::min<std::size_t>(10000, payload.size() - offset);
            Status st = s->write(ByteView(payload.data() + offset, n));
            if (!st) {
                REQUIRE(st.error().code == Errc::kLimitReached);
                ++refusals;
                return;
            }
            offset += n;
        }
    };
    f.rec.connected_hook = pump;
    f.rec.writable_hook = pump;
    // Pause reading twice on the way: the echo piles up in the kernel and inside Mbed TLS,
    // and must be drained on resume without a new readiness event.
    bool paused_once = false;
    f.rec.data_hook = [&] {
        if (!paused_once && f.rec.data.size() >= 300 * 1024) {
            paused_once = true;
            s->pause_reading(true);
            f.loop->add_timer(std::chrono::milliseconds(100), [&] { s->pause_reading(false); });
        }
    };
    f.run_until([&] { return f.rec.data.size() >= payload.size() || f.rec.closed; });
    CHECK_FALSE(f.rec.closed);
    CHECK(refusals >= 1);
    CHECK(f.rec.writable >= 1);
    CHECK(paused_once);
    CHECK(f.rec.data == payload);
    CHECK(s->stats().bytes_sent == payload.size());
    CHECK(s->send_buffer_used() == 0);
    CHECK(f.loop->stats().rounds < 1000);  // ~16 rounds of 64 KiB: no spinning on readiness
}

TEST_CASE("the server closing is reported once, after its last bytes") {
    SUBCASE("plain") {
        Server server(Mode::kGreetAndClose, nullptr, nullptr);
        Fixture f;
        auto s = f.start(to(server.port()));
        f.run_until([&] { return f.rec.closed.has_value(); });
        CHECK(f.rec.text() == "bye");
        CHECK(f.rec.closed->code == Errc::kClosed);
        CHECK(f.rec.closed_calls == 1);
        CHECK(s->closed());
    }
    SUBCASE("TLS close_notify") {
        Server server(Mode::kGreetAndClose, &certs().leaf, &certs().leaf_key);
        Fixture f;
        auto s = f.start(tls_to(server.port(), "localhost"));
        f.run_until([&] { return f.rec.closed.has_value(); });
        CHECK(f.rec.text() == "bye");
        CHECK(f.rec.closed->code == Errc::kClosed);
        CHECK(f.rec.closed_calls == 1);
    }
    SUBCASE("while reading is paused: the bytes still arrive on resume") {
        Server server(Mode::kGreetAndClose, nullptr, nullptr);
        Fixture f;
        auto s = f.start(to(server.port()));
        f.rec.connected_hook = [&] { s->pause_reading(true); };
        f.run_until([&] { return f.rec.connected; });
        for (int i = 0; i < 10; ++i) REQUIRE(f.loop->run_once(std::chrono::milliseconds(20)));
        CHECK(f.rec.data.empty());
        CHECK_FALSE(f.rec.closed);
        s->pause_reading(false);
        f.run_until([&] { return f.rec.closed.has_value(); });
        CHECK(f.rec.text() == "bye");
        CHECK(f.rec.closed->code == Errc::kClosed);
    }
}

TEST_CASE("close() inside a callback stops all callbacks; destruction is posted") {
    Server server(Mode::kEcho, nullptr, nullptr);
    Fixture f;
    auto s = f.start(to(server.port()));
    CHECK(s->write(view("abc")));
    f.rec.data_hook = [&] {
        s->close();
        f.loop->post([&] { s.reset(); });
    };
    f.run_until([&] { return s == nullptr; });
    CHECK(f.rec.text() == "abc");
    CHECK(f.rec.closed_calls == 0);
}

TEST_CASE("option and size errors") {
    Fixture f;
    ClientStreamOptions o = to(0);
    CHECK(ClientStream::start(*f.loop, f.resolver, o, f.rec).error().code ==
          Errc::kInvalidArgument);
    o = tls_to(443, "localhost");
    o.tls.ca_file = (certs().dir / "missing.pem").string();
    CHECK(ClientStream::start(*f.loop, f.resolver, o, f.rec).error().code == Errc::kNotFound);
    o = to(9);
    o.max_send_buffer = 8;
    auto s = f.start(o);
    const Bytes nine(9, 0);
    CHECK(s->write(nine).error().code == Errc::kInvalidArgument);
    CHECK(s->write(ByteView(nine.data(), 8)));
    CHECK(s->write(ByteView(nine.data(), 1)).error().code == Errc::kLimitReached);
    CHECK(s->send_buffer_free() == 0);
    s.reset();  // destroyed before the lookup answered: nothing runs afterwards
    for (int i = 0; i < 5; ++i) REQUIRE(f.loop->run_once(std::chrono::milliseconds(10)));
    CHECK(f.rec.closed_calls == 0);
}
