#include "core/wg/outbox.hpp"

#include "core/wg/limits.hpp"

namespace tunless::wg {

const char* event_kind_name(EventKind k) noexcept {
    switch (k) {
        case EventKind::kHandshakeCompleted: return "handshake_completed";
        case EventKind::kSessionExpired: return "session_expired";
        case EventKind::kEndpointChanged: return "endpoint_changed";
        case EventKind::kHandshakeGaveUp: return "handshake_gave_up";
    }
    return "unknown";
}

Outbox::Outbox()
    : datagram_bufs_(kOutboxMaxDatagrams), packet_bufs_(kOutboxMaxPackets) {
    datagrams_.reserve(kOutboxMaxDatagrams);
    packets_.reserve(kOutboxMaxPackets);
    events_.reserve(kOutboxMaxEvents);
}

void Outbox::clear() {
    datagrams_.clear();
    packets_.clear();
    events_.clear();
}

MutByteView Outbox::reserve_datagram(std::size_t n) {
    if (datagrams_.size() >= kOutboxMaxDatagrams) return {};
    return datagram_bufs_[datagrams_.size()].prepare(n);
}

void Outbox::commit_datagram(const Endpoint& to, std::size_t n, PeerId peer) {
    PacketBuffer& buf = datagram_bufs_[datagrams_.size()];
    buf.set_size(n);
    datagrams_.push_back(OutDatagram{to, buf.view(), peer});
}

MutByteView Outbox::reserve_packet(std::size_t n) {
    if (packets_.size() >= kOutboxMaxPackets) return {};
    return packet_bufs_[packets_.size()].prepare(n);
}

void Outbox::commit_packet(std::size_t n, PeerId from) {
    PacketBuffer& buf = packet_bufs_[packets_.size()];
    buf.set_size(n);
    packets_.push_back(DeliveredPacket{buf.view(), from});
}

bool Outbox::add_event(EventKind kind, PeerId peer) {
    if (events_.size() >= kOutboxMaxEvents) return false;
    events_.push_back(Event{kind, peer});
    return true;
}

std::size_t Outbox::free_datagrams() const { return kOutboxMaxDatagrams - datagrams_.size(); }

}  // namespace tunless::wg
