// Seeds for netstack_ip_fuzz: records built with the netstack tests' packet builder. TCP
// sequences use the ISN the fuzz environment's Stack really picks (its Rng is reseeded per
// input, so the ISN is the same when the fuzzer replays the seed).
#include <string>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/netstack_fuzz_env.hpp"
#include "fuzz/seeds/seed_writers.hpp"
#include "tests/unit/netstack/ip_builder.hpp"

namespace tunless::fuzz::seeds {

namespace {

namespace ns = tunless::fuzz::netstack;
namespace ip = tunless::test::ip;

ip::TcpSegment segment(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                       std::uint32_t ack, std::uint8_t flags, Bytes payload = {}) {
    ip::TcpSegment s;
    s.sport = sport;
    s.dport = dport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.payload = std::move(payload);
    return s;
}

ip::TcpSegment syn_with_options(std::uint16_t sport, std::uint32_t seq) {
    ip::TcpSegment s = segment(sport, ns::kTcpPort, seq, 0, ip::kSyn);
    s.mss = 1360;
    s.wscale = 7;
    s.sack_permitted = true;
    return s;
}

// The first TCP packet lwIP sends to `peer` when `input` runs.
std::optional<ip::Parsed> first_tcp_reply(ByteView input, const IpAddress& peer) {
    std::vector<Bytes> egress;
    ns::run_input(input, &egress);
    for (const auto& e : egress) {
        auto p = ip::parse(e);
        if (p && p->proto == ipproto::kTcp && p->dst == peer) return p;
    }
    return std::nullopt;
}

// SYN, ACK of lwIP's SYN/ACK, data (echoed back), FIN: a whole inbound connection. With
// `seq_wrap`, a one-octet segment 2^31 behind rcv_nxt follows the data (it made lwIP 2.1.3
// assert; netstack/patches/lwip-tcp-seq-wrap.patch).
// With `sack`, a duplicate ACK carrying SACK blocks (one partial, one past what lwIP sent)
// follows the echo: the way into lwip-tcp-tail-loss.patch's option parser and scoreboard.
Bytes inbound_session(const IpAddress& peer, const IpAddress& node, std::uint16_t sport,
                      bool seq_wrap = false, bool sack = false) {
    Bytes input;
    ns::append_record(input, 0, ip::tcp_packet(peer, node, syn_with_options(sport, 1000)));
    const auto synack = first_tcp_reply(input, peer);
    if (!synack) return input;
    const std::uint32_t isn = synack->tcp.seq;
    const Bytes hello = {'h', 'e', 'l', 'l', 'o', '\n'};
    ns::append_record(input, 10,
                      ip::tcp_packet(peer, node, segment(sport, ns::kTcpPort, 1001, isn + 1, ip::kAck)));
    ns::append_record(input, 10, ip::tcp_packet(peer, node, segment(sport, ns::kTcpPort, 1001,
                                                                    isn + 1, ip::kAck | ip::kPsh, hello)));
    if (sack) {
        auto dup = segment(sport, ns::kTcpPort, 1007, isn + 1, ip::kAck);
        dup.sack = {{isn + 4, isn + 7}, {isn + 100, isn + 200}};
        ns::append_record(input, 1, ip::tcp_packet(peer, node, dup));
        ns::append_record(input, 30, ip::tcp_packet(peer, node, dup));  // after a probe timeout
    }
    if (seq_wrap) {
        ns::append_record(input, 10, ip::tcp_packet(peer, node, segment(sport, ns::kTcpPort,
                                                                        1007u - 0x80000000u, isn + 1,
                                                                        ip::kAck | ip::kPsh, {'x'})));
    }
    ns::append_record(input, 200, ip::tcp_packet(peer, node, segment(sport, ns::kTcpPort, 1007,
                                                                     isn + 1 + 6, ip::kAck | ip::kFin)));
    ns::append_record(input, 200, ip::tcp_packet(peer, node, segment(sport, ns::kTcpPort, 1008,
                                                                     isn + 2 + 6, ip::kAck)));
    return input;
}

}  // namespace

void write_netstack_seeds(Writer& w) {
    const IpAddress peer4 = *IpAddress::parse("10.0.0.2");
    const IpAddress peer6 = *IpAddress::parse("fd00::2");
    const IpAddress node4 = ns::node4();
    const IpAddress node6 = ns::node6();
    const Bytes payload = {'p', 'i', 'n', 'g'};

    Bytes in;
    ns::append_record(in, 0, ip::tcp_packet(peer4, node4, syn_with_options(40000, 1000)));
    w.put("tcp4_syn_options", in);
    in.clear();
    ns::append_record(in, 0, ip::tcp_packet(peer6, node6, syn_with_options(40001, 1000)));
    w.put("tcp6_syn_options", in);

    w.put("tcp4_session", inbound_session(peer4, node4, 40002));
    w.put("tcp6_session", inbound_session(peer6, node6, 40003));

    in.clear();
    ns::append_record(in, 0, ip::udp_packet(peer4, node4, 5353, ns::kUdpPort, payload));
    ns::append_record(in, 5, ip::udp_packet(peer6, node6, 5353, ns::kUdpPort, payload));
    ns::append_record(in, 5, ip::udp_packet(peer4, node4, 5353, 9999, payload));  // port closed
    w.put("udp_echo_and_closed", in);

    in.clear();
    ns::append_record(in, 0, ip::echo_request(peer4, node4, 7, 1, payload));
    ns::append_record(in, 0, ip::echo_request(peer6, node6, 7, 2, payload));
    w.put("icmp_echo", in);

    in.clear();
    const Bytes big = ip::udp_packet(peer4, node4, 5353, ns::kUdpPort, Bytes(600, 0x42));
    for (const auto& f : ip::ipv4_fragments(big, 256)) ns::append_record(in, 1, f);
    w.put("udp4_fragments", in);

    // The outbound connect to 10.0.0.2:8080: answer its SYN with SYN/ACK, send data, RST.
    in.clear();
    if (auto syn = first_tcp_reply(in, ns::remote4())) {
        const std::uint16_t lport = syn->tcp.sport;
        const std::uint32_t their = syn->tcp.seq;
        auto synack = segment(ns::kOutboundPort, lport, 5000, their + 1, ip::kSyn | ip::kAck);
        synack.mss = 1200;
        ns::append_record(in, 3, ip::tcp_packet(ns::remote4(), node4, synack));
        ns::append_record(in, 3, ip::tcp_packet(ns::remote4(), node4,
                                                segment(ns::kOutboundPort, lport, 5001, their + 1,
                                                        ip::kAck | ip::kPsh, payload)));
        ns::append_record(in, 3, ip::tcp_packet(ns::remote4(), node4,
                                                segment(ns::kOutboundPort, lport, 5005, their + 1,
                                                        ip::kRst)));
        w.put("tcp4_outbound", in);
    }
    // Last: every connect takes the next ephemeral port, so a seed added above tcp4_outbound
    // would change the port that seed's SYN/ACK is addressed to.
    w.put("tcp6_session_seq_wrap", inbound_session(peer6, node6, 40004, true));
    w.put("tcp4_session_sack", inbound_session(peer4, node4, 40005, false, true));
}

}  // namespace tunless::fuzz::seeds
