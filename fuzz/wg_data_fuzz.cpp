// wg_data_fuzz: the transport-data path behind a completed handshake. Two wg::Devices A and B
// with fixed keys finish a real handshake first; a ScriptedPeer S (whose session keys the
// harness holds) also completes one with B on demand. The fuzzer then drives plaintext into
// B's receive path -- through A's encryption (A routes everything to B) or encrypted by S
// directly, so arbitrary bytes (not only IP-looking ones) reach B's inner-IP validation,
// cryptokey routing and delivery -- with fuzzed counters, reordering and duplicates.
//
// Input: ops [op u8][operands...] (op % 7):
//   0 A sends an IP packet: length u16 % 1600, bytes (A.on_ip_packet; datagrams go on the wire)
//   1 deliver wire[u8 % size] to B (it stays on the wire: later duplicates are replays)
//   2 deliver wire[u8] with its counter overwritten by a fuzzed u64
//   3 S encrypts plaintext for B: counter mode u8 (0 next, 1 fuzzed u64, 2 next - u8),
//     length u16 % 1600, bytes; then delivered at once (mode bit 7 clear) or put on the wire
//   4 advance time by u16 ms (x1000 if the next byte is odd); due timers run on A and B,
//     and whatever B sends to A is delivered
//   5 B sends an IP packet: length u16 % 1600, bytes (to A or S by destination)
//   6 deliver wire[u8] truncated to u16 bytes
// Oracles: B delivers only packets whose inner source the sending peer owns; a packet S
// encrypted and B delivered at once equals S's plaintext up to the IP length.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/wg/device.hpp"
#include "core/wg/messages.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/wg_fuzz_support.hpp"
#include "tests/support/test_rng.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;

constexpr std::size_t kMaxOps = 256;
constexpr std::size_t kMaxWire = 64;

const Endpoint kEpA = *Endpoint::parse_numeric("192.0.2.1:51820");
const Endpoint kEpB = *Endpoint::parse_numeric("192.0.2.2:51820");
const Endpoint kEpS = *Endpoint::parse_numeric("[2001:db8::4]:4444");

wg::PeerConfig peer_config(const crypto::PublicKey& key, std::initializer_list<const char*> ips,
                           const Endpoint& ep) {
    wg::PeerConfig pc;
    pc.public_key = key;
    for (const char* p : ips) pc.allowed_ips.push_back(*IpPrefix::parse(p));
    pc.endpoint = ep;
    return pc;
}

class Harness {
public:
    Harness()
        : a_(rng_a_, clock_), b_(rng_b_, clock_),
          s_(kScriptedKeyTag, fixed_public_key(kPeerKeyTag), 13) {
        a_.set_private_key(fixed_private_key(kDeviceKeyTag));
        b_.set_private_key(fixed_private_key(kPeerKeyTag));
        // A sends everything to B; B knows A by its tunnel addresses and S by a /24 and /64.
        a_peer_ = *a_.add_peer(peer_config(b_.public_key(), {"0.0.0.0/0", "::/0"}, kEpB));
        b_peer_a_ = *b_.add_peer(
            peer_config(a_.public_key(), {"10.0.0.1/32", "fd00::1/128"}, kEpA));
        b_peer_s_ = *b_.add_peer(
            peer_config(s_.public_key(), {"10.0.2.0/24", "fd00:2::/64"}, kEpS));
        // The real handshake: A's initiation, B's response, A's confirming keepalive.
        check(a_.initiate(now(), a_peer_, out_).has_value(), "initiate");
        take_a_output();
        for (const auto& d : wire_) to_b(kEpA, d);
        wire_.clear();
        check(a_.peer_status(a_peer_)->has_session, "A has a session");
        check(b_.peer_status(b_peer_a_)->has_session, "B has a session");
    }

    void run(FuzzInput& in) {
        for (std::size_t n = 0; n < kMaxOps && !in.empty(); ++n) step(in);
    }

private:
    Instant now() const { return clock_.now_mono(); }

    void step(FuzzInput& in) {
        switch (in.u8() % 7) {
            case 0: {
                ExactCopy p(in.bytes(in.u16() % 1600));
                a_.on_ip_packet(now(), p.view(), out_);
                take_a_output();
                break;
            }
            case 1: deliver_wire(in.u8(), std::nullopt, SIZE_MAX); break;
            case 2: {
                const std::uint8_t i = in.u8();
                deliver_wire(i, in.u64(), SIZE_MAX);
                break;
            }
            case 3: scripted_data(in); break;
            case 4: advance(in); break;
            case 5: {
                ExactCopy p(in.bytes(in.u16() % 1600));
                b_.on_ip_packet(now(), p.view(), out_);
                take_b_output();
                break;
            }
            case 6: {
                const std::uint8_t i = in.u8();
                deliver_wire(i, std::nullopt, in.u16());
                break;
            }
        }
    }

    // A's datagrams go on the wire to B (handshake messages are delivered at once).
    void take_a_output() {
        std::vector<Bytes> now_for_b;
        for (const auto& d : out_.datagrams()) {
            if (d.bytes.size() > 0 && d.bytes[0] == 4) {
                if (wire_.size() < kMaxWire) wire_.emplace_back(d.bytes.begin(), d.bytes.end());
            } else {
                now_for_b.emplace_back(d.bytes.begin(), d.bytes.end());
            }
        }
        out_.clear();
        for (const auto& d : now_for_b) to_b(kEpA, d);
    }

    // B's datagrams: to A's endpoint are delivered to A; to S are opened by S (checked).
    void take_b_output() {
        check_delivered();
        std::vector<Bytes> for_a;
        for (const auto& d : out_.datagrams()) {
            if (d.peer == b_peer_a_ || d.to == kEpA) for_a.emplace_back(d.bytes.begin(), d.bytes.end());
        }
        out_.clear();
        for (const auto& d : for_a) {
            ExactCopy c(d);
            a_.on_datagram(now(), kEpB, c.view(), out_);
            take_a_output();
        }
    }

    void to_b(const Endpoint& from, ByteView d) {
        ExactCopy c(d);
        b_.on_datagram(now(), from, c.view(), out_);
        take_b_output();
    }

    void deliver_wire(std::uint8_t index, std::optional<std::uint64_t> counter, std::size_t len) {
        if (wire_.empty()) return;
        Bytes d = wire_[index % wire_.size()];
        if (counter && d.size() >= wg::transport::kHeaderSize) {
            store_le64(d.data() + wg::transport::kCounter, *counter);
        }
        if (len < d.size()) d.resize(len);
        to_b(kEpA, d);
    }

    void ensure_scripted_session() {
        if (s_ready_) return;
        s_ready_ = true;
        const Bytes init =
            s_.make_initiation(now(), crypto::tai64n_from_wall(clock_.now()), 0x5151);
        ExactCopy c(init);
        b_.on_datagram(now(), kEpS, c.view(), out_);
        check_delivered();
        for (const auto& d : out_.datagrams()) {
            if (d.bytes.size() == wg::response::kSize) (void)s_.consume_response(d.bytes);
        }
        out_.clear();
    }

    void scripted_data(FuzzInput& in) {
        ensure_scripted_session();
        const std::uint8_t mode = in.u8();
        std::uint64_t counter = 0;
        switch (mode % 3) {
            case 0: counter = s_.next_counter(); break;
            case 1: counter = in.u64(); break;
            default: counter = s_.next_counter() - 1 - in.u8(); break;
        }
        ExactCopy plain(in.bytes(in.u16() % 1600));
        if (!s_.has_session()) return;
        const Bytes msg = s_.make_transport(plain.view(), counter);
        if (mode & 0x80) {
            if (wire_.size() < kMaxWire) wire_.push_back(msg);
            return;
        }
        expect_plain_ = plain.view();
        to_b(kEpS, msg);
        expect_plain_ = {};
    }

    void advance(FuzzInput& in) {
        const std::uint32_t ms = in.u16();
        clock_.advance(std::chrono::milliseconds(ms) * ((in.u8() & 1) ? 1000 : 1));
        for (int i = 0; i < 64 && a_.next_deadline() <= now(); ++i) {
            a_.on_timer(now(), out_);
            take_a_output();
        }
        for (int i = 0; i < 64 && b_.next_deadline() <= now(); ++i) {
            b_.on_timer(now(), out_);
            take_b_output();
        }
    }

    void check_delivered() {
        for (const auto& p : out_.packets()) {
            const auto src = inner_source(p.packet);
            check(src.has_value(), "delivered a packet without an IP header");
            const auto st = b_.peer_status(p.from);
            check(st.has_value(), "delivered from an unknown peer");
            bool allowed = false;
            for (const auto& pre : st->allowed_ips) allowed = allowed || pre.contains(*src);
            check(allowed, "delivered a packet whose source the peer does not own");
            if (p.from == b_peer_s_ && !expect_plain_.empty()) {
                check(p.packet.size() <= expect_plain_.size() &&
                          std::equal(p.packet.begin(), p.packet.end(), expect_plain_.begin()),
                      "delivered bytes differ from what the peer encrypted");
            }
        }
    }

    test::SeededRng rng_a_{21};
    test::SeededRng rng_b_{22};
    test::FakeClock clock_;
    wg::Device a_;
    wg::Device b_;
    ScriptedPeer s_;
    bool s_ready_ = false;
    wg::PeerId a_peer_ = wg::kNoPeer;
    wg::PeerId b_peer_a_ = wg::kNoPeer;
    wg::PeerId b_peer_s_ = wg::kNoPeer;
    wg::Outbox out_;
    std::vector<Bytes> wire_;
    ByteView expect_plain_;
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
