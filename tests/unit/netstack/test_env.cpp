#include "tests/unit/netstack/test_env.hpp"

#include <doctest/doctest.h>

namespace tunless::test {

NetEnv& NetEnv::get() {
    static NetEnv env;
    if (!env.stack) {
        net::StackConfig config;
        config.addresses = {env.addr4, env.addr6};
        auto stack = net::Stack::create(config, env.sink, env.rng, env.clock.now_mono());
        REQUIRE(stack.has_value());
        env.stack = std::move(stack.value());
    }
    return env;
}

void NetEnv::advance(Duration total, Duration step) {
    for (Duration done{0}; done < total; done += step) {
        clock.advance(step);
        stack->on_timer(clock.now_mono());
    }
}

ScriptedPeer::ScriptedPeer(const IpAddress& peer_ip, std::uint16_t peer_port,
                           const IpAddress& our_ip, std::uint16_t our_port, std::uint32_t isn)
    : peer_ip_(peer_ip), peer_port_(peer_port), our_ip_(our_ip), our_port_(our_port), seq_(isn) {}

void ScriptedPeer::send(std::uint8_t flags, ByteView payload) {
    send_at(seq_, flags, payload);
    seq_ += static_cast<std::uint32_t>(payload.size());
    if (flags & (ip::kSyn | ip::kFin)) {
        ++seq_;
    }
}

void ScriptedPeer::send_at(std::uint32_t seq, std::uint8_t flags, ByteView payload) {
    ip::TcpSegment s;
    s.sport = peer_port_;
    s.dport = our_port_;
    s.seq = seq;
    s.ack = (flags & ip::kAck) ? ack_ : 0;
    s.flags = flags;
    s.window = window;
    if (flags & ip::kSyn) {
        s.mss = 1360;
        s.wscale = 7;
        s.sack_permitted = sack_permitted;
    }
    s.payload.assign(payload.begin(), payload.end());
    auto& env = NetEnv::get();
    REQUIRE(env.inject(ip::tcp_packet(peer_ip_, our_ip_, s)).has_value());
}

std::vector<ip::Parsed> ScriptedPeer::take() {
    auto& env = NetEnv::get();
    auto pkts = env.take([this](const ip::Parsed& p) {
        return p.proto == ipproto::kTcp && p.src == our_ip_ && p.dst == peer_ip_ &&
               p.tcp.sport == our_port_ && p.tcp.dport == peer_port_;
    });
    for (const auto& p : pkts) {
        CHECK(p.transport_checksum_ok);
        const auto& t = p.tcp;
        if (t.flags & ip::kRst) {
            got_rst_ = true;
            continue;
        }
        const bool syn = (t.flags & ip::kSyn) != 0;
        lwip_window_ = syn ? t.window : std::size_t{t.window} << lwip_wscale_;
        const std::uint32_t data_seq = syn ? t.seq + 1 : t.seq;
        if (syn) {
            ack_ = data_seq;
        }
        // In-order data only (the tests never make lwIP reorder); retransmits are skipped.
        if (!t.payload.empty() && data_seq == ack_) {
            received_.insert(received_.end(), t.payload.begin(), t.payload.end());
            ack_ += static_cast<std::uint32_t>(t.payload.size());
        }
        if ((t.flags & ip::kFin) && data_seq + t.payload.size() == ack_ && !got_fin_) {
            got_fin_ = true;
            ++ack_;
        }
    }
    return pkts;
}

ip::Parsed ScriptedPeer::handshake() {
    window = 0xFFFF;
    send(ip::kSyn);
    auto pkts = take();
    REQUIRE(pkts.size() == 1);
    const auto synack = pkts[0];
    REQUIRE(synack.tcp.flags == (ip::kSyn | ip::kAck));
    REQUIRE(synack.tcp.ack == seq_);
    lwip_wscale_ = synack.tcp.wscale.value_or(0);
    window = 0xFFFF;  // scaled by 7 from now on: 8 MiB, never the bottleneck
    send(ip::kAck);
    return synack;
}

void ScriptedPeer::accept_syn(const ip::Parsed& syn) {
    lwip_wscale_ = syn.tcp.wscale.value_or(0);
    ack_ = syn.tcp.seq + 1;
    send(ip::kSyn | ip::kAck);
}

}  // namespace tunless::test
