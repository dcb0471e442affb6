// A TcpListener on the test stack with recording handlers: the starting point of the tests
// that drive lwIP's server side with a ScriptedPeer (tcp_inbound_test, tcp_batching_test).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "netstack/tcp.hpp"
#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {

struct TcpServerFixture {
    NetEnv& env = NetEnv::get();
    RecordingTcpHandler handler;
    RecordingAcceptHandler acceptor;
    std::unique_ptr<net::TcpListener> listener;

    explicit TcpServerFixture(std::uint16_t port, std::uint32_t max_connections = 8) {
        env.sink.packets.clear();
        acceptor.handler = &handler;
        net::TcpListener::Options options;
        options.port = port;
        options.max_connections = max_connections;
        auto l = net::TcpListener::listen(*env.stack, options, acceptor);
        REQUIRE(l.has_value());
        listener = std::move(l.value());
    }
    net::TcpConnection& conn(std::size_t i = 0) {
        REQUIRE(acceptor.accepted.size() > i);
        return *acceptor.accepted[i];
    }
};

}  // namespace tunless::test
