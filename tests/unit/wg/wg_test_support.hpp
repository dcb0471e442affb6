// Helpers for the core/wg tests: crypto init, tiny IPv4/IPv6 packet builders, and a Pair of
// Devices that exchange Outbox datagrams by hand under one FakeClock (boringtun-style pair
// tests, with explicit time).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/crypto/keys.hpp"
#include "core/wg/device.hpp"
#include "tests/support/test_rng.hpp"

namespace tunless::wg::test {

using tunless::test::FakeClock;
using tunless::test::SeededRng;

// Calls crypto::init() once (each test file that needs libsodium calls it first).
void init_crypto();

IpAddress ip(const char* text);
IpPrefix prefix(const char* text);
Endpoint endpoint(const char* text);

// A valid IPv4/UDP-looking packet (protocol 17, no checksum) with `payload` bytes of pattern.
Bytes ipv4_packet(const char* src, const char* dst, std::size_t payload, std::uint8_t fill = 0xab);
Bytes ipv6_packet(const char* src, const char* dst, std::size_t payload, std::uint8_t fill = 0xcd);

struct Sent {
    Instant at;
    char from;           // 'a' or 'b'
    std::uint8_t type;   // first byte of the datagram
    Bytes bytes;
    Endpoint to;
};

struct Node {
    Node(char name, std::uint64_t seed, FakeClock& clock);
    char name;
    SeededRng rng;
    Device dev;
    crypto::PrivateKey key;
    Endpoint ep;  // our outer address as the other side sees it
    PeerId peer = kNoPeer;  // the other node, as configured here
    Outbox out;
    std::vector<Bytes> delivered;
    std::vector<Event> events;
    std::vector<Sent> pending;  // datagrams taken from `out`, not yet delivered
    std::size_t count_events(EventKind k) const;
};

// Two devices: a = 192.168.0.1 (10.0.0.1:51820), b = 192.168.0.2 (10.0.0.2:51820), each
// configured with the other as peer (allowed IPs = the other's /32 and /128).
class Pair {
public:
    explicit Pair(std::uint64_t seed = 1, bool a_knows_b_endpoint = true,
                  bool b_knows_a_endpoint = true);

    FakeClock clock;
    Node a;
    Node b;
    // Links: when false, datagrams in that direction are lost (still logged).
    bool a_to_b_up = true;
    bool b_to_a_up = true;
    // Optional filter: return false to drop one datagram (after logging).
    std::function<bool(const Sent&)> filter;
    std::vector<Sent> log;

    Instant now() const { return clock.now_mono(); }
    // Moves every queued datagram to the other side until none are left.
    void pump();
    // Advances time to now + d, firing each device's timers at their deadlines on the way.
    void advance(Duration d);
    // Sends an IP packet from a (or b) into its device and pumps.
    void send_a(const Bytes& packet);
    void send_b(const Bytes& packet);
    // Full handshake initiated by `from` ('a' or 'b'), pumped to completion.
    void handshake(char from = 'a');
    std::size_t sent_count(char from, std::uint8_t type) const;

    Bytes a_to_b_packet(std::size_t payload = 100) const;
    Bytes b_to_a_packet(std::size_t payload = 100) const;

    // Moves everything in n.out into n.pending / n.delivered / n.events and clears n.out,
    // as the daemon drains its Outbox after every Device call.
    void collect(Node& n);

private:
    void deliver_pending(Node& from, Node& to, bool link_up);
};

}  // namespace tunless::wg::test
