// What a wg::Device call produced: datagrams to send, decrypted IP packets to deliver, and
// peer events. Caller-owned and reused: after each Device call the caller drains the three
// lists and calls clear(). Byte views point into the Outbox's own buffers and stay valid until
// clear() or destruction. Buffers keep their capacity, so after warm-up no Device call
// allocates per packet. Each list has a cap (limits.hpp); see DropReason::kOutboxFull.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/wg/packet_buffer.hpp"
#include "core/wg/peer_id.hpp"

namespace tunless::wg {

inline constexpr PeerId kNoPeer = 0;  // Device never hands out 0

struct OutDatagram {
    Endpoint to;
    ByteView bytes;
    PeerId peer = kNoPeer;  // kNoPeer for cookie replies (we may not know the sender)
};

struct DeliveredPacket {
    ByteView packet;  // one IPv4/IPv6 packet, trimmed to its declared length
    PeerId from = kNoPeer;
};

enum class EventKind : std::uint8_t {
    kHandshakeCompleted,  // a new session is usable for sending
    kSessionExpired,      // the current session reached REJECT_AFTER_TIME (or was wiped)
    kEndpointChanged,     // roaming: an authenticated packet came from a new endpoint
    kHandshakeGaveUp,     // no response within REKEY_ATTEMPT_TIME; staged packets dropped
};
const char* event_kind_name(EventKind k) noexcept;

struct Event {
    EventKind kind;
    PeerId peer;
};

class Outbox {
public:
    Outbox();

    std::span<const OutDatagram> datagrams() const { return datagrams_; }
    std::span<const DeliveredPacket> packets() const { return packets_; }
    std::span<const Event> events() const { return events_; }
    bool empty() const { return datagrams_.empty() && packets_.empty() && events_.empty(); }
    void clear();

private:
    friend class Device;

    // Device side: reserve a buffer of `n` bytes, fill it, then commit (at most `n` bytes).
    // An empty span means the list is at its cap.
    MutByteView reserve_datagram(std::size_t n);
    void commit_datagram(const Endpoint& to, std::size_t n, PeerId peer);
    MutByteView reserve_packet(std::size_t n);
    void commit_packet(std::size_t n, PeerId from);
    bool add_event(EventKind kind, PeerId peer);
    std::size_t free_datagrams() const;

    std::vector<PacketBuffer> datagram_bufs_;
    std::vector<PacketBuffer> packet_bufs_;
    std::vector<OutDatagram> datagrams_;
    std::vector<DeliveredPacket> packets_;
    std::vector<Event> events_;
};

}  // namespace tunless::wg
