// lwIP as the TCP sender losing several segments of one window: with netstack/patches'
// NewReno (RFC 6582) every hole is resent on the partial ACK that reveals it, without waiting
// for the retransmission timer; the clock never moves in these tests, so a recovery that
// needed the RTO would not finish. The peer here is a receiver model that ACKs every segment
// with the first hole (no delayed ACKs), as Linux does while out-of-order data is queued.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "tests/unit/netstack/handlers.hpp"
#include "tests/unit/netstack/test_env.hpp"

namespace tunless::test {
namespace {

using net::TcpConnection;

struct Receiver {
    Receiver(NetEnv& e, ScriptedPeer& p, std::uint16_t pport, std::uint16_t oport)
        : env(e), peer(p), peer_port(pport), our_port(oport), rcv_nxt(p.ack()),
          highest_seen(p.ack()) {}

    NetEnv& env;
    ScriptedPeer& peer;  // handshake done; used for its 4-tuple and sequence numbers
    std::uint16_t peer_port;
    std::uint16_t our_port;
    std::uint32_t rcv_nxt;
    std::map<std::uint32_t, Bytes> out_of_order;
    Bytes in_order;
    std::uint32_t highest_seen;
    std::size_t new_segments = 0;     // first transmissions seen
    std::set<std::size_t> lose;       // indices (in new_segments order) lost on first sending
    std::vector<std::uint32_t> lost;  // their sequence numbers
    std::size_t retransmissions = 0;
    std::size_t duplicates = 0;
    std::size_t lose_retransmissions = 0;  // the next this many resent segments are lost too
    bool sack = false;  // report out-of-order data in SACK blocks, as Linux does
    std::uint16_t window = 0xFFFF;  // advertised, scaled by 7; 0: not reading (data is dropped)

    void ack() {
        ip::TcpSegment s;
        s.sport = peer_port;
        s.dport = our_port;
        s.seq = peer.seq();
        s.ack = rcv_nxt;
        s.flags = ip::kAck;
        s.window = window;  // 0xFFFF scaled by 7: never the limit
        if (sack) s.sack = sack_blocks();
        REQUIRE(env.inject(ip::tcp_packet(env.peer4, env.addr4, s)).has_value());
    }

    // The out-of-order data as merged ranges, highest first (at most 4 blocks fit).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sack_blocks() const {
        std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks;
        for (const auto& [seq, payload] : out_of_order) {
            const auto end = seq + static_cast<std::uint32_t>(payload.size());
            if (!blocks.empty() && blocks.back().second == seq) {
                blocks.back().second = end;
            } else {
                blocks.emplace_back(seq, end);
            }
        }
        std::reverse(blocks.begin(), blocks.end());
        if (blocks.size() > 4) blocks.resize(4);
        return blocks;
    }

    void deliver(std::uint32_t seq, const Bytes& payload) {
        if (static_cast<std::int32_t>(seq - rcv_nxt) >= 0) out_of_order.emplace(seq, payload);
        for (auto it = out_of_order.find(rcv_nxt); it != out_of_order.end();
             it = out_of_order.find(rcv_nxt)) {
            in_order.insert(in_order.end(), it->second.begin(), it->second.end());
            rcv_nxt += static_cast<std::uint32_t>(it->second.size());
            out_of_order.erase(it);
        }
    }

    // Handles what lwIP sent since the last call; false if it sent nothing.
    bool step() {
        auto pkts = env.take([&](const ip::Parsed& p) {
            return p.proto == ipproto::kTcp && p.tcp.sport == our_port &&
                   p.tcp.dport == peer_port;
        });
        for (const auto& p : pkts) {
            if (p.tcp.payload.empty()) continue;
            const std::uint32_t seq = p.tcp.seq;
            if (static_cast<std::int32_t>(seq - highest_seen) >= 0) {
                highest_seen = seq + static_cast<std::uint32_t>(p.tcp.payload.size());
                if (lose.count(new_segments++) != 0) {
                    lost.push_back(seq);
                    continue;
                }
            } else {
                ++retransmissions;
                if (lose_retransmissions > 0) {
                    --lose_retransmissions;
                    continue;
                }
            }
            if (seq + p.tcp.payload.size() <= rcv_nxt || out_of_order.count(seq) != 0) {
                ++duplicates;  // data the receiver held already
            }
            if (window != 0) deliver(seq, p.tcp.payload);  // a closed window drops (probes too)
            ack();  // one ACK per segment: duplicates while a hole is open
        }
        return !pkts.empty();
    }
};

struct Transfer {
    NetEnv& env = NetEnv::get();
    RecordingTcpHandler handler;
    std::unique_ptr<TcpConnection> conn;
    std::unique_ptr<ScriptedPeer> peer;
    std::unique_ptr<Receiver> rx;
    std::size_t written = 0;

    explicit Transfer(std::uint16_t port, bool peer_sack_permitted = true) {
        env.sink.packets.clear();
        auto c = TcpConnection::connect(*env.stack, env.peer4, port, handler);
        REQUIRE(c.has_value());
        conn = std::move(c.value());
        auto syns = env.take([&](const ip::Parsed& p) {
            return p.proto == ipproto::kTcp && p.tcp.dport == port;
        });
        REQUIRE(syns.size() == 1);
        peer = std::make_unique<ScriptedPeer>(env.peer4, port, env.addr4, syns[0].tcp.sport);
        peer->sack_permitted = peer_sack_permitted;
        peer->accept_syn(syns[0]);
        REQUIRE(handler.connected == 1);
        peer->take();  // lwIP's ACK of our SYN/ACK
        rx = std::make_unique<Receiver>(env, *peer, port, syns[0].tcp.sport);
    }

    // Writes `data` as send space allows and runs the exchange until lwIP stops sending;
    // the clock does not move. Returns the bytes the receiver got in order.
    const Bytes& run(const Bytes& data) {
        for (int guard = 0; guard < 100000; ++guard) {
            if (written < data.size() && conn->write_capacity() > 0) {
                written += conn->write(ByteView(data).subspan(written));
            }
            if (!rx->step() && (written == data.size() || conn->write_capacity() == 0)) break;
        }
        return rx->in_order;
    }
};

}  // namespace

#if TUNLESS_LWIP_NEWRENO
TEST_CASE("tcp loss recovery: two losses in the last flight are repaired without the RTO") {
    // Reno (unpatched lwIP 2.1.3) leaves recovery on the first partial ACK; at the end of a
    // transfer no new segments follow to raise three more duplicate ACKs, so the second hole
    // waits for the RTO. NewReno resends it on the partial ACK.
    Transfer t(9101);
    const Bytes data = pattern(400 * 1024, 7);
    const std::size_t segments = (data.size() + 1359) / 1360;  // MSS 1360 both ways
    t.rx->lose = {segments - 9, segments - 3};
    const Bytes& got = t.run(data);
    REQUIRE(t.rx->lost.size() == 2);
    CHECK(got.size() == data.size());
    CHECK(got == data);
    CHECK(t.rx->retransmissions == 2);  // exactly the two holes: no go-back-N after an RTO
}

TEST_CASE("tcp loss recovery: four holes in one flight, each resent on its partial ACK") {
    Transfer t(9102);
    t.rx->lose = {70, 73, 77, 90};
    const Bytes data = pattern(400 * 1024, 8);
    const Bytes& got = t.run(data);
    REQUIRE(t.rx->lost.size() == 4);
    CHECK(got == data);
    CHECK(t.rx->retransmissions == 4);
}

TEST_CASE("tcp loss recovery: a lost retransmission falls back to the RTO, then completes") {
    Transfer t(9103);
    t.rx->lose = {60, 64};
    const Bytes data = pattern(300 * 1024, 9);
    t.run(data);
    REQUIRE(t.rx->lost.size() == 2);
    // Lose the first retransmission too: only the timer can repair that (RFC 6582 §3.2 is
    // about partial ACKs, not lost retransmits). Drop what lwIP resends now, then let time pass.
    t.env.take([&](const ip::Parsed& p) { return p.tcp.sport == t.rx->our_port; });
    for (int i = 0; i < 50 && t.rx->in_order.size() < data.size(); ++i) {
        t.env.advance(std::chrono::milliseconds(200));
        t.run(data);
    }
    CHECK(t.rx->in_order == data);
}

TEST_CASE("tcp loss recovery: a lost tail is resent after the 200 ms RTO floor, not 600+ ms") {
    // Nothing after the loss raises a duplicate ACK and the peer does not do SACK, so only the
    // timer helps. On a fast path (every RTT sample here is 0 ticks) lwIP's estimator never let
    // RTTVAR fall below 3 ticks of 200 ms; the patch lets it decay and applies TCP_RTO_MIN_MS
    // (lwipopts.h) instead. (With SACK the probe below repairs this in ~10 ms.)
    Transfer t(9104, /*peer_sack_permitted=*/false);
    t.env.advance(std::chrono::milliseconds(300));  // lwIP takes no RTT sample at tick 0
    const Bytes warmup = pattern(200 * 1024, 10);
    REQUIRE(t.run(warmup) == warmup);
    const std::size_t first = t.rx->new_segments;
    t.rx->lose = {first, first + 1, first + 2, first + 3};
    Bytes more = warmup;
    const Bytes tail = pattern(4 * 1360, 11);
    more.insert(more.end(), tail.begin(), tail.end());
    t.run(more);  // the four tail segments are lost
    REQUIRE(t.rx->lost.size() == 4);
    const auto step = std::chrono::milliseconds(10);
    Duration waited{};
    while (t.rx->retransmissions == 0 && waited < std::chrono::seconds(3)) {
        t.env.advance(step, step);
        waited += step;
        t.rx->step();
    }
    CHECK(t.rx->retransmissions > 0);
    CHECK(waited >= std::chrono::milliseconds(100));  // never sooner than one tick
    CHECK(waited <= std::chrono::milliseconds(300));  // floor 200 ms + one tick of 100 ms
    t.run(more);
    CHECK(t.rx->in_order == more);
}
TEST_CASE("tcp tail loss: with SACK, a lost tail is repaired by the probe after ~10 ms, not the RTO") {
    // The case behind the benchmark's 100-200 ms gaps: the end of a flight is dropped, so no
    // duplicate ACKs follow. The probe (RFC 8985 §7) resends the last segment; the peer's SACK
    // of it shows the holes below, and all of them are resent at once.
    NetEnv::get().advance(std::chrono::milliseconds(300));  // lwIP takes no RTT sample at tick 0
    Transfer t(9105);
    t.rx->sack = true;
    const Bytes warmup = pattern(200 * 1024, 12);
    REQUIRE(t.run(warmup) == warmup);
    const std::size_t first = t.rx->new_segments;
    t.rx->lose = {first, first + 1, first + 2, first + 3};
    Bytes more = warmup;
    const Bytes tail = pattern(4 * 1360, 13);
    more.insert(more.end(), tail.begin(), tail.end());
    t.run(more);
    REQUIRE(t.rx->lost.size() == 4);
    const auto step = std::chrono::milliseconds(2);
    Duration waited{};
    while (t.rx->in_order.size() < more.size() && waited < std::chrono::seconds(1)) {
        t.env.advance(step, step);
        waited += step;
        t.run(more);
    }
    CHECK(t.rx->in_order == more);
    CHECK(waited >= std::chrono::milliseconds(10));  // the probe timeout's floor
    CHECK(waited <= std::chrono::milliseconds(30));  // far below the 200 ms RTO floor
    CHECK(t.rx->retransmissions == 4);  // the probe (last segment) and the three holes below it
    CHECK(t.rx->duplicates == 0);
}

TEST_CASE("tcp tail loss: with SACK, many holes in one flight are all resent in one round trip") {
    Transfer t(9106);
    t.rx->sack = true;
    t.rx->lose = {60, 62, 64, 66, 68, 70, 72, 74};
    const Bytes data = pattern(400 * 1024, 14);
    const Bytes& got = t.run(data);
    REQUIRE(t.rx->lost.size() == 8);
    CHECK(got == data);
    CHECK(t.rx->retransmissions == 8);  // each hole once, SACKed data never
    CHECK(t.rx->duplicates == 0);
}

TEST_CASE("tcp tail loss: a probe into a flight that was only delayed resends one segment, no more") {
    // No loss at all: the ACKs are late (the receiver withholds them past the probe timeout).
    NetEnv::get().advance(std::chrono::milliseconds(300));
    Transfer t(9107);
    t.rx->sack = true;
    const Bytes warmup = pattern(100 * 1024, 15);
    REQUIRE(t.run(warmup) == warmup);
    Bytes more = warmup;
    const Bytes extra = pattern(20 * 1360, 16);
    more.insert(more.end(), extra.begin(), extra.end());
    t.conn->write(ByteView(more).subspan(t.written));
    t.written = more.size();
    auto held = t.env.take([&](const ip::Parsed& p) { return p.tcp.sport == t.rx->our_port; });
    REQUIRE(!held.empty());
    t.env.advance(std::chrono::milliseconds(20), std::chrono::milliseconds(2));  // probe fires
    auto probes = t.env.take([&](const ip::Parsed& p) { return p.tcp.sport == t.rx->our_port; });
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].tcp.seq == held.back().tcp.seq);  // the last segment in flight
    // The originals arrive, then the probe as a duplicate: a plain cumulative ACK, no recovery.
    t.env.sink.packets.clear();
    for (auto& p : held) t.env.sink.packets.push_back(ip::tcp_packet(p.src, p.dst, p.tcp));
    t.env.sink.packets.push_back(ip::tcp_packet(probes[0].src, probes[0].dst, probes[0].tcp));
    const Bytes& got = t.run(more);
    CHECK(got == more);
    CHECK(t.rx->duplicates == 1);  // the probe itself
}
TEST_CASE("tcp tail loss: with SACK, a lost retransmission is resent after a probe timeout, not the RTO") {
    NetEnv::get().advance(std::chrono::milliseconds(300));
    Transfer t(9108);
    t.rx->sack = true;
    const auto timeouts_before = t.env.stack->stats().lwip.tcp_timeouts;
    t.rx->lose = {60, 64};
    t.rx->lose_retransmissions = 2;  // both resends are lost too: only a timer can notice
    const Bytes data = pattern(300 * 1024, 17);
    t.run(data);
    REQUIRE(t.rx->lost.size() == 2);
    REQUIRE(t.rx->lose_retransmissions == 0);
    REQUIRE(t.rx->in_order.size() < data.size());
    const auto step = std::chrono::milliseconds(2);
    Duration waited{};
    while (t.rx->in_order.size() < data.size() && waited < std::chrono::seconds(1)) {
        t.env.advance(step, step);
        waited += step;
        t.run(data);
    }
    CHECK(t.rx->in_order == data);
    CHECK(waited <= std::chrono::milliseconds(60));  // probe timeouts of 10-20 ms, not 200 ms
    CHECK(t.env.stack->stats().lwip.tcp_timeouts == timeouts_before);
}
TEST_CASE("tcp loss recovery: the RTO requeues unacked data in sequence order, before queued resends") {
    // lwIP put the unacked queue in front of the unsent queue on a retransmission timeout. A
    // resend that SACK recovery or fast retransmit had queued there (held back by the window)
    // then followed segments above it; tcp_output() measures the head of the unsent queue from
    // lastack, so once the ACKs had emptied unacked nothing fitted the window any more and no
    // timer ran: the memory-pressure stall of tests/netns/proxy_load_test.sh. White-box: the
    // state is set up with lwIP's own functions, as its input and timer paths would.
    Transfer t(9109);
    const Bytes data = pattern(6 * 1360, 18);
    REQUIRE(t.conn->write(data) == data.size());
    auto sent = t.env.take([&](const ip::Parsed& p) { return p.tcp.sport == t.rx->our_port; });
    REQUIRE(sent.size() == 3);  // the initial window; none acknowledged, three more queued
    struct tcp_pcb* pcb = nullptr;
    for (struct tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {
        if (p->local_port == t.rx->our_port) pcb = p;
    }
    REQUIRE(pcb != nullptr);
    REQUIRE(tcp_rexmit(pcb) == ERR_OK);  // the first segment waits in unsent for its resend
    REQUIRE(tcp_rexmit_rto_prepare(pcb) == ERR_OK);
    std::vector<std::uint32_t> order;
    for (struct tcp_seg* seg = pcb->unsent; seg != nullptr; seg = seg->next) {
        order.push_back(lwip_ntohl(seg->tcphdr->seqno) - sent[0].tcp.seq);
    }
    CHECK(order == std::vector<std::uint32_t>{0, 1360, 2720, 4080, 5440, 6800});
    CHECK(pcb->unacked == nullptr);
    // The go-back-N resend starts at the hole and the transfer completes.
    tcp_rexmit_rto_commit(pcb);
    auto resent = t.env.take([&](const ip::Parsed& p) { return p.tcp.sport == t.rx->our_port; });
    REQUIRE(!resent.empty());
    CHECK(resent[0].tcp.seq == sent[0].tcp.seq);
    t.written = data.size();
    REQUIRE(t.rx->rcv_nxt == sent[0].tcp.seq);
    for (const auto& p : resent) t.env.sink.packets.push_back(ip::tcp_packet(p.src, p.dst, p.tcp));
    const Bytes& got = t.run(data);
    CHECK(got == data);
}
#endif

}  // namespace tunless::test
