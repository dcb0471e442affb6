#include <doctest/doctest.h>

#include <vector>

#include "transports/testing/memory_transport.hpp"

using namespace tunless;
using namespace tunless::io;
using namespace tunless::io::testing;

namespace {
struct Echo final : DatagramReceiver {
    explicit Echo(DatagramTransport& t) : t_(t) {}
    void on_datagram(const Endpoint& from, ByteView data) override {
        got.emplace_back(data.begin(), data.end());
        if (echo) {
            t_.send(from, data);
        }
    }
    DatagramTransport& t_;
    std::vector<Bytes> got;
    bool echo = false;
};
Endpoint ep(const char* s) {
    return *Endpoint::parse_numeric(s);
}
}  // namespace

TEST_CASE("memory network delivers in FIFO order, including replies sent while delivering") {
    MemoryNetwork net;
    MemoryTransport a(ep("10.0.0.1:1"), &net), b(ep("10.0.0.2:2"), &net);
    Echo ra(a), rb(b);
    rb.echo = true;
    a.set_receiver(&ra);
    b.set_receiver(&rb);
    const Bytes one{1}, two{2};
    CHECK(a.send(ep("10.0.0.2:2"), one) == SendResult::kSent);
    CHECK(a.send(ep("10.0.0.2:2"), two) == SendResult::kSent);
    CHECK(net.queued() == 2);
    CHECK(net.deliver_all() == 4);
    CHECK(rb.got == std::vector<Bytes>{one, two});
    CHECK(ra.got == std::vector<Bytes>{one, two});
    CHECK(a.sent().size() == 2);
    CHECK(a.sent()[0].to == ep("10.0.0.2:2"));
}

TEST_CASE("memory network filter, unknown destinations, blocked sends and capacity") {
    MemoryNetwork net(2);
    MemoryTransport a(ep("10.0.0.1:1"), &net), b(ep("10.0.0.2:2"), &net);
    Echo rb(b);
    b.set_receiver(&rb);
    net.set_filter([](const Packet& p) { return p.data.at(0) != 0xee; });
    const Bytes drop{0xee}, keep{1};
    a.send(ep("10.0.0.2:2"), drop);
    a.send(ep("10.0.0.9:9"), keep);
    CHECK(a.send(ep("10.0.0.2:2"), keep) == SendResult::kDropped);  // queue full
    CHECK(a.stats().tx_drop_would_block == 1);
    net.deliver_all();
    CHECK(rb.got.empty());
    CHECK(net.undeliverable() == 1);
    a.set_send_blocked(true);
    CHECK(a.send(ep("10.0.0.2:2"), keep) == SendResult::kDropped);
    CHECK(a.stats().tx_drop_would_block == 2);
    CHECK(a.send(Endpoint::relay(1), keep) == SendResult::kDropped);
    CHECK(a.stats().tx_drop_no_path == 1);
}

TEST_CASE("record-only transport logs sends and inject() feeds the receiver") {
    MemoryTransport t(ep("10.0.0.1:51820"), nullptr, 2);
    Echo r(t);
    t.set_receiver(&r);
    const Bytes x{7};
    std::vector<OutDatagram> batch{
        {ep("1.1.1.1:1"), x}, {ep("2.2.2.2:2"), x}, {ep("3.3.3.3:3"), x}};
    CHECK(t.send_batch(batch) == 3);
    REQUIRE(t.sent().size() == 2);  // bounded log keeps the newest
    CHECK(t.sent()[0].to == ep("2.2.2.2:2"));
    t.inject(ep("9.9.9.9:9"), x);
    CHECK(r.got.size() == 1);
    CHECK(t.local_port() == 51820);
}
