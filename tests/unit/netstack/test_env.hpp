// The one net::Stack of the netstack_tests process (lwIP state is global: engineering notes
// §6.5), its captured egress, a fake clock, and a scripted TCP peer that speaks to it through
// hand-built packets. Every test uses its own ports and filters egress by 4-tuple, so tests do
// not see each other's (late) packets.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "core/base/ip_address.hpp"
#include "netstack/stack.hpp"
#include "tests/support/test_rng.hpp"
#include "tests/unit/netstack/ip_builder.hpp"

namespace tunless::test {

class CaptureSink final : public net::EgressSink {
public:
    void on_egress(ByteView packet) override {
        packets.emplace_back(packet.begin(), packet.end());
        if (hook) {
            hook();
        }
    }
    std::deque<Bytes> packets;
    std::function<void()> hook;  // runs inside the egress (misuse tests)
};

struct NetEnv {
    static NetEnv& get();

    IpAddress addr4 = *IpAddress::parse("10.7.0.1");
    IpAddress addr6 = *IpAddress::parse("fd00:7::1");
    IpAddress peer4 = *IpAddress::parse("10.7.0.2");
    IpAddress peer6 = *IpAddress::parse("fd00:7::2");
    FakeClock clock;
    SeededRng rng{42};
    CaptureSink sink;
    std::unique_ptr<net::Stack> stack;

    Status inject(const Bytes& packet) { return stack->inject(packet); }
    // Moves time forward in `step`s, running lwIP's timers at each.
    void advance(Duration total, Duration step = std::chrono::milliseconds(100));
    // Removes and parses the captured packets that satisfy `match`; others stay queued.
    template <typename Match>
    std::vector<ip::Parsed> take(Match match) {
        std::vector<ip::Parsed> out;
        for (auto it = sink.packets.begin(); it != sink.packets.end();) {
            auto parsed = ip::parse(*it);
            if (parsed && match(*parsed)) {
                out.push_back(std::move(*parsed));
                it = sink.packets.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }
};

// The far end of one TCP connection, scripted packet by packet.
class ScriptedPeer {
public:
    ScriptedPeer(const IpAddress& peer_ip, std::uint16_t peer_port, const IpAddress& our_ip,
                 std::uint16_t our_port, std::uint32_t isn = 1000);

    // Sends a segment with the peer's current seq/ack; advances seq by payload (+SYN/FIN).
    void send(std::uint8_t flags, ByteView payload = {});
    // Sends a segment at an arbitrary sequence number (a stale or hostile peer); seq unchanged.
    void send_at(std::uint32_t seq, std::uint8_t flags, ByteView payload = {});
    // Active open with MSS 1360, window scale 7, SACK permitted; then expects a SYN/ACK and
    // ACKs it. Returns the SYN/ACK.
    ip::Parsed handshake();
    // Answers a SYN we captured (outbound connect) with SYN/ACK and records lwIP's ISN.
    void accept_syn(const ip::Parsed& syn);
    // Packets lwIP sent on this 4-tuple since the last take(); updates ack_ to lwIP's highest
    // sequence seen (data and FIN are considered received in order).
    std::vector<ip::Parsed> take();
    // ACKs everything received so far.
    void ack_all() { send(ip::kAck); }

    std::uint32_t seq() const { return seq_; }
    std::uint32_t ack() const { return ack_; }
    std::uint8_t lwip_wscale() const { return lwip_wscale_; }
    // lwIP's advertised window in bytes from its last segment.
    std::size_t lwip_window() const { return lwip_window_; }
    std::size_t received_bytes() const { return received_.size(); }
    const Bytes& received() const { return received_; }
    bool got_fin() const { return got_fin_; }
    bool got_rst() const { return got_rst_; }
    std::uint16_t window = 0xFFFF;  // our advertised window field (scaled by 7 after the SYN)
    bool sack_permitted = true;     // offered in our SYN or SYN/ACK

private:
    IpAddress peer_ip_;
    std::uint16_t peer_port_;
    IpAddress our_ip_;
    std::uint16_t our_port_;
    std::uint32_t seq_;
    std::uint32_t ack_ = 0;
    std::uint8_t lwip_wscale_ = 0;
    std::size_t lwip_window_ = 0;
    Bytes received_;
    bool got_fin_ = false;
    bool got_rst_ = false;
};

}  // namespace tunless::test
