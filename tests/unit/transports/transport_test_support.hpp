// Small helpers shared by the transports unit tests: a fresh EventLoop, loopback endpoints and
// deterministic payloads. Test-only.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "transports/event_loop.hpp"

namespace tunless::io::test {

inline std::unique_ptr<EventLoop> make_loop() {
    auto loop = EventLoop::create();
    REQUIRE(loop);
    return std::move(*loop);
}

inline Endpoint at(const char* ip, std::uint16_t port) {
    return Endpoint::udp(*IpAddress::parse(ip), port);
}

inline Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(seed + i * 7);
    }
    return b;
}

}  // namespace tunless::io::test
