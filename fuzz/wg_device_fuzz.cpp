// wg_device_fuzz: a stateful program of operations against one wg::Device with two peers,
// one of which is a harness-side ScriptedPeer that really speaks WireGuard (so sessions come
// up and data flows), while raw fuzzed datagrams arrive from several endpoints in between.
//
// Input: a sequence of ops, each [op u8][operands...]; ops (op % 12):
//   0 advance time by u16 ms (x1000 when the next byte is odd), running due timers
//   1 raw datagram: endpoint u8, flags u8 (bit0 valid mac1, bit1 receiver = device's last
//     sender index), length u16 % 2048, bytes
//   2 outgoing IP packet: length u16 % 2048, bytes -> on_ip_packet
//   3 on_timer(now) regardless of the deadline
//   4 device initiates a handshake to the scripted peer
//   5 scripted peer sends an initiation (timestamp: wall clock, or 12 fuzzed bytes if the
//     next byte is odd) from endpoint u8
//   6 scripted peer consumes the device's last response
//   7 scripted peer answers the device's last initiation
//   8 scripted peer sends data: counter mode u8 (0 next, 1 fuzzed u64, 2 repeat last),
//     length u16 % 1500, plaintext bytes
//   9 replay one of the last 16 datagrams (either direction) into the device: u8 index
//   10 under-load override: u8 % 3 -> automatic / forced on / forced off
//   11 update the scripted peer's config (keepalive u8, endpoint cleared or set)
// Oracles: every packet the device delivers has an inner source inside the allowed IPs of
// the peer it is attributed to; everything the device sends parses as a WireGuard message.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <variant>

#include "core/wg/device.hpp"
#include "core/wg/messages.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/wg_fuzz_support.hpp"
#include "tests/support/test_rng.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;

constexpr std::size_t kMaxOps = 256;
constexpr std::size_t kHistory = 16;

const Endpoint& endpoint(std::uint8_t i) {
    static const Endpoint eps[] = {
        *Endpoint::parse_numeric("192.0.2.2:51820"),
        *Endpoint::parse_numeric("192.0.2.3:1234"),
        *Endpoint::parse_numeric("[2001:db8::2]:51820"),
        Endpoint::relay(7),
    };
    return eps[i % 4];
}

wg::PeerConfig scripted_peer_config(const crypto::PublicKey& key) {
    wg::PeerConfig pc;
    pc.public_key = key;
    pc.allowed_ips = {*IpPrefix::parse("10.0.0.2/32"), *IpPrefix::parse("fd00::2/128")};
    pc.endpoint = endpoint(0);
    return pc;
}

class Harness {
public:
    Harness() : dev_(rng_, clock_), peer_(kPeerKeyTag, device_public(), 11) {
        dev_.set_private_key(fixed_private_key(kDeviceKeyTag));
        const auto a = dev_.add_peer(scripted_peer_config(peer_.public_key()));
        check(a.has_value(), "add scripted peer");
        scripted_id_ = *a;
        wg::PeerConfig other;
        other.public_key = fixed_public_key(kOtherKeyTag);
        other.allowed_ips = {*IpPrefix::parse("10.0.1.0/24"), *IpPrefix::parse("fd00:1::/64")};
        const auto b = dev_.add_peer(other);
        check(b.has_value(), "add other peer");
        other_id_ = *b;
    }

    void run(FuzzInput& in) {
        for (std::size_t n = 0; n < kMaxOps && !in.empty(); ++n) step(in);
    }

private:
    static crypto::PublicKey device_public() { return fixed_public_key(kDeviceKeyTag); }
    Instant now() const { return clock_.now_mono(); }

    void step(FuzzInput& in) {
        switch (in.u8() % 12) {
            case 0: advance(in); break;
            case 1: raw_datagram(in); break;
            case 2: {
                ExactCopy pkt(in.bytes(in.u16() % 2048));
                dev_.on_ip_packet(now(), pkt.view(), out_);
                drain();
                break;
            }
            case 3: dev_.on_timer(now(), out_); drain(); break;
            case 4: (void)dev_.initiate(now(), scripted_id_, out_); drain(); break;
            case 5: peer_initiation(in); break;
            case 6:
                if (!last_response_.empty()) (void)peer_.consume_response(last_response_);
                break;
            case 7: peer_answer(in); break;
            case 8: peer_data(in); break;
            case 9: replay(in); break;
            case 10: {
                const std::uint8_t m = in.u8() % 3;
                dev_.set_under_load_override(m == 0 ? std::nullopt : std::optional<bool>(m == 1));
                break;
            }
            case 11: {
                wg::PeerConfig pc = scripted_peer_config(peer_.public_key());
                pc.persistent_keepalive_s = in.u8() % 30;
                if (in.u8() & 1) pc.endpoint = endpoint(in.u8());
                check(dev_.update_peer(scripted_id_, pc).has_value(), "update_peer");
                break;
            }
        }
    }

    void advance(FuzzInput& in) {
        const std::uint32_t ms = in.u16();
        clock_.advance(std::chrono::milliseconds(ms) * ((in.u8() & 1) ? 1000 : 1));
        // Timers may reschedule; bound the loop so a bug that never settles is a timeout.
        for (int i = 0; i < 64 && dev_.next_deadline() <= now(); ++i) {
            dev_.on_timer(now(), out_);
            drain();
        }
    }

    void raw_datagram(FuzzInput& in) {
        const Endpoint& from = endpoint(in.u8());
        const std::uint8_t flags = in.u8();
        ExactCopy d(in.bytes(in.u16() % 2048));
        MutByteView m = d.span();
        if ((flags & 2) && m.size() >= 8 && last_sender_ != 0) {
            const std::size_t at = m.size() == wg::cookie_reply::kSize ? wg::cookie_reply::kReceiver
                                   : m.size() == wg::response::kSize   ? wg::response::kReceiver
                                                                       : wg::transport::kReceiver;
            store_le32(m.data() + at, last_sender_);
        }
        if (flags & 1) write_valid_mac1(m, device_public());
        deliver(from, d.view());
    }

    void peer_initiation(FuzzInput& in) {
        crypto::Tai64n ts = crypto::tai64n_from_wall(clock_.now());
        if (in.u8() & 1) {
            const ByteView b = in.bytes(ts.size());
            std::copy(b.begin(), b.end(), ts.begin());
        }
        const Bytes msg = peer_.make_initiation(now(), ts, 0x1000 + in.u8());
        if (!msg.empty()) deliver(endpoint(in.u8()), msg);
    }

    void peer_answer(FuzzInput& in) {
        if (last_initiation_.empty()) return;
        const Bytes msg = peer_.answer_initiation(now(), last_initiation_, 0x2000 + in.u8());
        if (!msg.empty()) deliver(endpoint(0), msg);
    }

    void peer_data(FuzzInput& in) {
        if (!peer_.has_session()) return;
        const std::uint8_t mode = in.u8() % 3;
        std::uint64_t counter = 0;
        if (mode == 0) {
            counter = peer_.next_counter();
        } else if (mode == 1) {
            counter = in.u64();
        } else {
            counter = last_counter_;
        }
        last_counter_ = counter;
        const ByteView plain = in.bytes(in.u16() % 1500);
        deliver(endpoint(0), peer_.make_transport(plain, counter));
    }

    void replay(FuzzInput& in) {
        if (history_.empty()) return;
        const Bytes d = history_[in.u8() % history_.size()];
        deliver(endpoint(in.u8()), d);
    }

    void deliver(const Endpoint& from, ByteView d) {
        remember(d);
        ExactCopy copy(d);
        dev_.on_datagram(now(), from, copy.view(), out_);
        drain();
    }

    void remember(ByteView d) {
        if (history_.size() == kHistory) history_.pop_front();
        history_.emplace_back(d.begin(), d.end());
    }

    // Checks and records what the device produced, then clears the outbox.
    void drain() {
        for (const auto& d : out_.datagrams()) {
            const auto parsed = wg::parse(d.bytes);
            check(!std::holds_alternative<wg::DropReason>(parsed), "device sent garbage");
            if (const auto* i = std::get_if<wg::InitiationView>(&parsed)) {
                last_sender_ = i->sender();
                if (d.peer == scripted_id_) last_initiation_.assign(d.bytes.begin(), d.bytes.end());
            } else if (const auto* r = std::get_if<wg::ResponseView>(&parsed)) {
                last_sender_ = r->sender();
                last_response_.assign(d.bytes.begin(), d.bytes.end());
            } else if (std::holds_alternative<wg::CookieReplyView>(parsed)) {
                peer_.consume_cookie_reply(d.bytes, now());
            } else if (d.peer == scripted_id_) {
                // The scripted peer must be able to open what the device encrypted for it,
                // unless the session was replaced meanwhile; only count, never require.
                (void)peer_.open_transport(d.bytes);
            }
            remember(d.bytes);
        }
        for (const auto& p : out_.packets()) check_source(p);
        out_.clear();
    }

    void check_source(const wg::DeliveredPacket& p) {
        const auto src = inner_source(p.packet);
        check(src.has_value(), "delivered a packet without an IP header");
        const auto status = dev_.peer_status(p.from);
        check(status.has_value(), "delivered from an unknown peer");
        bool allowed = false;
        for (const auto& pre : status->allowed_ips) allowed = allowed || pre.contains(*src);
        check(allowed, "delivered a packet whose source the peer does not own");
        check(p.from == scripted_id_, "delivered from a peer that never had a session");
    }

    test::SeededRng rng_{5};
    test::FakeClock clock_;
    wg::Device dev_;
    ScriptedPeer peer_;
    wg::PeerId scripted_id_ = wg::kNoPeer;
    wg::PeerId other_id_ = wg::kNoPeer;
    wg::Outbox out_;
    std::deque<Bytes> history_;
    Bytes last_initiation_;
    Bytes last_response_;
    std::uint32_t last_sender_ = 0;
    std::uint64_t last_counter_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    init_crypto_once();
    ExactCopy copy(ByteView(data, size));
    FuzzInput in(copy.view());
    Harness h;
    h.run(in);
    return 0;
}
