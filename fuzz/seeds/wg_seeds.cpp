// Seeds for wg_message_fuzz, wg_device_fuzz and wg_data_fuzz (formats: see each target).
#include <string>
#include <vector>

#include "core/wg/device.hpp"
#include "core/wg/messages.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/seeds/seed_writers.hpp"
#include "fuzz/wg_fuzz_support.hpp"
#include "tests/support/test_rng.hpp"

namespace tunless::fuzz::seeds {

namespace {

// The device's peer (kPeerKeyTag) as a real Device that knows the target device.
struct PeerDevice {
    explicit PeerDevice(bool under_load) {
        dev.set_private_key(fixed_private_key(kPeerKeyTag));
        wg::PeerConfig pc;
        pc.public_key = fixed_public_key(kDeviceKeyTag);
        pc.allowed_ips = {*IpPrefix::parse("10.0.0.1/32")};
        pc.endpoint = *Endpoint::parse_numeric("192.0.2.1:51820");
        peer = *dev.add_peer(pc);
        if (under_load) dev.set_under_load_override(true);
    }
    test::SeededRng rng{3};
    test::FakeClock clock;
    wg::Device dev{rng, clock};
    wg::PeerId peer = wg::kNoPeer;
    wg::Outbox out;
};

Bytes first_datagram(wg::Outbox& out) {
    check(!out.datagrams().empty(), "seed: expected a datagram");
    const ByteView b = out.datagrams()[0].bytes;
    Bytes copy(b.begin(), b.end());
    out.clear();
    return copy;
}

Bytes with_flags(std::uint8_t flags, ByteView msg) {
    Bytes s{flags};
    s.insert(s.end(), msg.begin(), msg.end());
    return s;
}

const Endpoint kFromPeer = *Endpoint::parse_numeric("192.0.2.2:51820");
const Endpoint kFromTarget = *Endpoint::parse_numeric("192.0.2.1:51820");

Bytes ipv4(const char* src, const char* dst, std::size_t payload) {
    Bytes p(20 + payload, 0x5a);
    p[0] = 0x45;
    p[1] = 0;
    store_be16(p.data() + 2, static_cast<std::uint16_t>(p.size()));
    store_be16(p.data() + 4, 1);
    p[6] = 0;
    p[7] = 0;
    p[8] = 64;
    p[9] = 17;
    p[10] = p[11] = 0;
    const auto s = *IpAddress::parse(src);
    const auto d = *IpAddress::parse(dst);
    std::copy(s.data(), s.data() + 4, p.begin() + 12);
    std::copy(d.data(), d.data() + 4, p.begin() + 16);
    return p;
}

Bytes ipv6(const char* src, const char* dst, std::size_t payload) {
    Bytes p(40 + payload, 0x6b);
    p[0] = 0x60;
    p[1] = p[2] = p[3] = 0;
    store_be16(p.data() + 4, static_cast<std::uint16_t>(payload));
    p[6] = 17;
    p[7] = 64;
    const auto s = *IpAddress::parse(src);
    const auto d = *IpAddress::parse(dst);
    std::copy(s.data(), s.data() + 16, p.begin() + 8);
    std::copy(d.data(), d.data() + 16, p.begin() + 24);
    return p;
}

// Op-program builder for the stateful targets (little-endian operands, as FuzzInput reads).
struct Program {
    Bytes b;
    Program& op(std::uint8_t o) { b.push_back(o); return *this; }
    Program& u8(std::uint8_t v) { b.push_back(v); return *this; }
    Program& u16(std::uint16_t v) { b.push_back(v & 0xff); b.push_back(v >> 8); return *this; }
    Program& u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    Program& bytes(ByteView v) { b.insert(b.end(), v.begin(), v.end()); return *this; }
    Program& sized(ByteView v) { return u16(static_cast<std::uint16_t>(v.size())).bytes(v); }
};

}  // namespace

void write_wg_message_seeds(Writer& w) {
    init_crypto_once();
    // An initiation from the peer to the target device.
    {
        PeerDevice p(false);
        (void)p.dev.initiate(p.clock.now_mono(), p.peer, p.out);
        w.put("initiation", with_flags(0, first_datagram(p.out)));
    }
    // The target initiates (flag 2); the peer's response and cookie reply to that initiation.
    {
        MessageTarget t;
        wg::Outbox out;
        (void)t.dev.initiate(t.clock.now_mono(), t.peer, out);
        const Bytes init = first_datagram(out);
        PeerDevice p(false);
        p.dev.on_datagram(p.clock.now_mono(), kFromTarget, init, p.out);
        const Bytes response = first_datagram(p.out);
        w.put("response_to_target", with_flags(2, response));
        PeerDevice loaded(true);
        loaded.dev.on_datagram(loaded.clock.now_mono(), kFromTarget, init, loaded.out);
        w.put("cookie_reply_to_target", with_flags(2 | 4, first_datagram(loaded.out)));
        // The target's confirming data message after the response: a transport seed.
        t.dev.on_datagram(t.clock.now_mono(), kFromPeer, response, out);
        if (!out.datagrams().empty()) w.put("transport_keepalive", with_flags(0, first_datagram(out)));
        out.clear();
        const Bytes pkt = ipv4("10.0.0.1", "10.0.0.2", 40);
        t.dev.on_ip_packet(t.clock.now_mono(), pkt, out);
        if (!out.datagrams().empty()) w.put("transport_data", with_flags(2, first_datagram(out)));
    }
    const std::uint8_t junk[] = {1, 0, 0, 0, 9, 9};
    w.put("short_initiation", with_flags(1, ByteView(junk, sizeof junk)));
    Bytes fake_init(wg::initiation::kSize, 0x11);
    fake_init[0] = 1;
    fake_init[1] = fake_init[2] = fake_init[3] = 0;
    w.put("mac1_fixed_initiation", with_flags(1 | 8, fake_init));
}

void write_wg_device_seeds(Writer& w) {
    const Bytes from_peer4 = ipv4("10.0.0.2", "10.0.0.1", 32);
    const Bytes from_peer6 = ipv6("fd00::2", "fd00::1", 24);
    const Bytes to_peer4 = ipv4("10.0.0.1", "10.0.0.2", 64);
    const Bytes spoofed = ipv4("10.0.1.7", "10.0.0.1", 16);
    // Peer initiates, sends data (v4, v6, spoofed source), time passes, keepalive/rekey.
    w.put("peer_initiates", Program{}
                                .op(5).u8(0).u8(1).u8(0)
                                .op(8).u8(0).sized(from_peer4)
                                .op(8).u8(0).sized(from_peer6)
                                .op(8).u8(0).sized(spoofed)
                                .op(2).sized(to_peer4)
                                .op(0).u16(11).u8(1)
                                .op(0).u16(130).u8(1)
                                .op(3)
                                .b);
    // Device initiates (data staged), peer answers, data both ways, replays, counter games.
    w.put("device_initiates", Program{}
                                  .op(2).sized(to_peer4)
                                  .op(7).u8(2)
                                  .op(8).u8(0).sized(from_peer4)
                                  .op(9).u8(0).u8(0)
                                  .op(8).u8(1).u64(1000).sized(from_peer4)
                                  .op(8).u8(2).sized(from_peer4)
                                  .op(0).u16(5000).u8(0)
                                  .op(4)
                                  .op(6)
                                  .op(0).u16(181).u8(1)
                                  .b);
    // Under load: the peer's initiation gets a cookie reply, the retry carries mac2.
    w.put("under_load_cookie", Program{}
                                   .op(10).u8(1)
                                   .op(5).u8(0).u8(1).u8(1)
                                   .op(5).u8(0).u8(2).u8(1)
                                   .op(8).u8(0).sized(from_peer4)
                                   .op(10).u8(0)
                                   .b);
    // Roaming, keepalive config, raw datagrams with a fixed mac1 from several endpoints.
    Bytes raw_init(wg::initiation::kSize, 0x33);
    raw_init[0] = 1;
    raw_init[1] = raw_init[2] = raw_init[3] = 0;
    w.put("raw_and_roaming", Program{}
                                 .op(11).u8(25).u8(1).u8(2)
                                 .op(1).u8(1).u8(1).sized(raw_init)
                                 .op(5).u8(0).u8(3).u8(2)
                                 .op(8).u8(0).sized(from_peer4)
                                 .op(0).u16(26).u8(1)
                                 .op(1).u8(3).u8(2).u16(32).bytes(Bytes(32, 4))
                                 .b);
}

void write_wg_data_seeds(Writer& w) {
    const Bytes a_to_b4 = ipv4("10.0.0.1", "10.0.0.2", 48);
    const Bytes a_to_b6 = ipv6("fd00::1", "fd00::2", 20);
    const Bytes a_spoof = ipv4("10.9.9.9", "10.0.0.2", 8);
    const Bytes s_to_b4 = ipv4("10.0.2.5", "10.0.0.2", 33);
    const Bytes s_to_b6 = ipv6("fd00:2::5", "fd00::2", 7);
    const Bytes s_spoof = ipv4("10.0.0.1", "10.0.0.2", 10);
    w.put("a_to_b", Program{}
                        .op(0).sized(a_to_b4).op(1).u8(0)
                        .op(0).sized(a_to_b6).op(1).u8(1)
                        .op(0).sized(a_spoof).op(1).u8(2)
                        .op(1).u8(0)  // replay
                        .op(2).u8(1).u64(7)
                        .op(6).u8(0).u16(20)
                        .op(4).u16(10).u8(1)
                        .b);
    w.put("scripted_to_b", Program{}
                               .op(3).u8(0).sized(s_to_b4)
                               .op(3).u8(0).sized(s_to_b6)
                               .op(3).u8(0).sized(s_spoof)
                               .op(3).u8(1).u64(5000).sized(s_to_b4)
                               .op(3).u8(2).u8(0).sized(s_to_b4)
                               .op(3).u8(0x81).sized(s_to_b4)
                               .op(1).u8(0)
                               .op(5).sized(ipv4("10.0.0.2", "10.0.2.9", 12))
                               .op(5).sized(ipv4("10.0.0.2", "10.0.0.1", 12))
                               .b);
    w.put("reorder", Program{}
                         .op(0).sized(a_to_b4).op(0).sized(a_to_b6).op(0).sized(a_to_b4)
                         .op(1).u8(2).op(1).u8(0).op(1).u8(1).op(1).u8(2)
                         .op(4).u16(125).u8(1)
                         .op(0).sized(a_to_b4).op(1).u8(3)
                         .b);
}

}  // namespace tunless::fuzz::seeds
