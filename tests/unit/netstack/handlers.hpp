// Recording handlers for netstack tests: count every event, optionally run a hook inside it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "netstack/tcp.hpp"
#include "netstack/udp.hpp"

namespace tunless::test {

struct RecordingTcpHandler final : net::TcpHandler {
    int connected = 0;
    int readable = 0;
    int peer_fin = 0;
    int writable = 0;
    int errors = 0;
    std::optional<Error> last_error;
    std::function<void(net::TcpConnection&)> on_readable_hook;
    std::function<void(net::TcpConnection&)> on_peer_fin_hook;

    void on_connected(net::TcpConnection&) override { ++connected; }
    void on_readable(net::TcpConnection& c) override {
        ++readable;
        if (on_readable_hook) {
            on_readable_hook(c);
        }
    }
    void on_peer_fin(net::TcpConnection& c) override {
        ++peer_fin;
        if (on_peer_fin_hook) {
            on_peer_fin_hook(c);
        }
    }
    void on_writable(net::TcpConnection&) override { ++writable; }
    void on_error(net::TcpConnection&, const Error& e) override {
        ++errors;
        last_error = e;
    }
};

struct RecordingAcceptHandler final : net::TcpAcceptHandler {
    net::TcpHandler* handler = nullptr;
    bool reject = false;
    int calls = 0;
    std::vector<std::unique_ptr<net::TcpConnection>> accepted;

    void on_accept(net::TcpListener&, std::unique_ptr<net::TcpConnection>& conn) override {
        ++calls;
        if (reject) {
            return;
        }
        conn->set_handler(handler);
        accepted.push_back(std::move(conn));
    }
};

struct RecordingUdpHandler final : net::UdpHandler {
    struct Datagram {
        net::UdpDatagramInfo info;
        Bytes payload;
    };
    std::vector<Datagram> datagrams;
    std::function<void(net::UdpSocket&, const net::UdpDatagramInfo&)> hook;

    void on_datagram(net::UdpSocket& s, const net::UdpDatagramInfo& info, ByteView p) override {
        datagrams.push_back({info, Bytes(p.begin(), p.end())});
        if (hook) {
            hook(s, info);
        }
    }
};

inline Bytes text(const char* s) {
    Bytes b;
    for (; *s != 0; ++s) {
        b.push_back(static_cast<std::uint8_t>(*s));
    }
    return b;
}

inline Bytes pattern(std::size_t n, std::uint8_t seed = 0) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>((i * 131 + seed) & 0xFF);
    }
    return b;
}

}  // namespace tunless::test
