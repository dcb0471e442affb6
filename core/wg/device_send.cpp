// wg::Device send path and timer actions: IP packet -> cryptokey routing -> encrypt in place
// into the Outbox (or stage and start a handshake); handshake messages; on_timer().
#include <array>
#include <cstring>

#include "core/crypto/aead.hpp"
#include "core/wg/device.hpp"
#include "core/wg/inner_ip.hpp"
#include "core/wg/messages.hpp"
#include "core/wg/peer.hpp"

namespace tunless::wg {

namespace {

// One TAI64N tick past `t`: one whitening granule (2^24 ns), so the value stays on the grid
// wall-clock stamps use and is still strictly newer.
crypto::Tai64n tai64n_next_tick(const crypto::Tai64n& t) {
    std::uint64_t secs = load_be64(t.data());
    std::uint64_t nanos = std::uint64_t{load_be32(t.data() + 8)} + crypto::kTai64nWhitenerMask + 1;
    if (nanos >= 1'000'000'000) {
        nanos -= 1'000'000'000;
        ++secs;
    }
    crypto::Tai64n out{};
    store_be64(out.data(), secs);
    store_be32(out.data() + 8, static_cast<std::uint32_t>(nanos));
    return out;
}

}  // namespace

crypto::Tai64n Device::next_timestamp() {
    const crypto::Tai64n wall = crypto::tai64n_from_wall(wall_.now());
    last_sent_timestamp_ = crypto::tai64n_after(wall, last_sent_timestamp_)
                               ? wall
                               : tai64n_next_tick(last_sent_timestamp_);
    return last_sent_timestamp_;
}

void Device::on_ip_packet(Instant now, ByteView ip_packet, Outbox& out) {
    const std::optional<InnerIp> ip =
        ip_packet.size() <= kMaxIpPacketSize ? parse_inner_ip(ip_packet) : std::nullopt;
    if (!ip) {
        drop(DropReason::kBadOutgoingPacket);
        return;
    }
    const std::optional<PeerId> owner = allowed_ips_.lookup(ip->dst);
    Peer* p = owner ? peer_ptr(*owner) : nullptr;
    if (p == nullptr) {
        drop(DropReason::kNoRoute);
        return;
    }
    const ByteView packet = ip_packet.first(ip->total_len);
    Keypair* kp = p->keypairs.current();
    if (p->staged.empty() && kp != nullptr && keypair_can_send(*kp, now)) {
        // Fast path: no queue, a usable session.
        if (encrypt_to_outbox(*p, *kp, packet, out)) {
            after_data_sent(now, *p, true, out);
        } else {
            drop(DropReason::kOutboxFull);
        }
        return;
    }
    if (!p->staged.push(packet)) drop(DropReason::kStagedOverflow);
    send_staged(now, *p, out);
}

bool Device::encrypt_to_outbox(Peer& p, Keypair& kp, ByteView packet, Outbox& out) {
    // Paper §5.4.6: header || AEAD(T_send, counter, packet || zero padding, ε).
    const std::size_t plain = packet.empty() ? 0 : padded_len(packet.size(), mtu_);
    const std::size_t total = transport_len(plain);
    MutByteView buf = out.reserve_datagram(total);
    if (buf.empty()) return false;
    const std::uint64_t counter = kp.send_counter++;
    write_transport_header(buf, kp.remote_index, counter);
    MutByteView body = buf.subspan(transport::kContent, plain);
    if (!packet.empty()) std::memcpy(body.data(), packet.data(), packet.size());
    std::memset(body.data() + packet.size(), 0, plain - packet.size());
    crypto::aead_encrypt(buf.subspan(transport::kContent), kp.send_key, counter, body, {});
    if (!p.endpoint.is_set()) {
        drop(DropReason::kNoEndpoint);
        return true;  // consumed: there is nowhere to send it
    }
    out.commit_datagram(p.endpoint, total, p.id);
    p.tx_bytes += total;
    return true;
}

void Device::after_data_sent(Instant now, Peer& p, bool data, Outbox& out) {
    p.timers.on_any_authenticated_packet_traversal(now);
    p.timers.on_any_authenticated_packet_sent(now);
    if (data) p.timers.on_data_sent(now);
    if (p.timers.want_rekey_after_send(p.keypairs.current(), now)) {
        send_initiation(now, p, out, false);
    }
}

void Device::send_staged(Instant now, Peer& p, Outbox& out) {
    if (p.staged.empty()) return;
    Keypair* kp = p.keypairs.current();
    if (kp == nullptr || !keypair_can_send(*kp, now)) {
        send_initiation(now, p, out, false);
        return;
    }
    bool sent_any = false;
    bool sent_data = false;
    while (!p.staged.empty()) {
        if (kp->send_counter >= kRejectAfterMessages) {
            send_initiation(now, p, out, false);
            break;
        }
        const ByteView packet = p.staged.front();
        if (!encrypt_to_outbox(p, *kp, packet, out)) {
            p.timers.on_flush_deferred(now);  // continue at the next on_timer()
            break;
        }
        sent_any = true;
        sent_data = sent_data || !packet.empty();
        p.staged.pop_front();
    }
    if (sent_any) after_data_sent(now, p, sent_data, out);
}

void Device::send_keepalive(Instant now, Peer& p, Outbox& out) {
    // An empty packet joins the queue only if nothing else would confirm liveness.
    if (p.staged.empty()) (void)p.staged.push({});
    send_staged(now, p, out);
}

void Device::send_handshake_message(Peer& p, ByteView msg, Outbox& out) {
    if (!p.endpoint.is_set()) {
        drop(DropReason::kNoEndpoint);
        return;
    }
    MutByteView buf = out.reserve_datagram(msg.size());
    if (buf.empty()) {
        drop(DropReason::kOutboxFull);
        return;
    }
    std::memcpy(buf.data(), msg.data(), msg.size());
    out.commit_datagram(p.endpoint, msg.size(), p.id);
    p.tx_bytes += msg.size();
}

void Device::send_initiation(Instant now, Peer& p, Outbox& out, bool is_retry) {
    if (!is_retry) p.timers.reset_attempts();
    if (!identity_.present || !p.timers.may_send_initiation(now)) return;
    p.timers.on_handshake_message_sent(now);
    release_handshake_index(p);
    const std::optional<std::uint32_t> index = indices_.allocate(rng_, p.id, IndexKind::kHandshake);
    if (!index) return;
    std::array<std::uint8_t, initiation::kSize> msg{};
    if (!create_initiation(identity_, p.handshake, rng_, next_timestamp(), *index, msg)) {
        indices_.release(*index);
        p.handshake.clear();
        drop(DropReason::kHandshakeFailed);
        return;
    }
    p.cookie.add_macs(msg, now);
    p.timers.on_any_authenticated_packet_traversal(now);
    p.timers.on_any_authenticated_packet_sent(now);
    send_handshake_message(p, msg, out);
    ++stats_.handshakes_initiated;
    p.timers.on_handshake_initiated(now, rng_);
}

void Device::send_response(Instant now, Peer& p, Outbox& out) {
    p.timers.on_handshake_message_sent(now);
    const std::optional<std::uint32_t> index = indices_.allocate(rng_, p.id, IndexKind::kHandshake);
    std::array<std::uint8_t, response::kSize> msg{};
    if (!index || !create_response(p.handshake, rng_, *index, msg)) {
        if (index) indices_.release(*index);
        p.handshake.clear();
        drop(DropReason::kHandshakeFailed);
        return;
    }
    p.cookie.add_macs(msg, now);
    install_session(now, p);
    p.timers.on_any_authenticated_packet_traversal(now);
    p.timers.on_any_authenticated_packet_sent(now);
    send_handshake_message(p, msg, out);
}

void Device::install_session(Instant now, Peer& p) {
    SessionKeys keys;
    if (!derive_session(p.handshake, keys)) return;
    auto kp = std::make_unique<Keypair>();
    kp->send_key = std::move(keys.send);
    kp->recv_key = std::move(keys.recv);
    kp->created = now;
    kp->initiator = keys.initiator;
    kp->local_index = keys.local_index;
    kp->remote_index = keys.remote_index;
    indices_.set_kind(keys.local_index, IndexKind::kKeypair);
    ReleasedIndices released;
    p.keypairs.install(std::move(kp), released);
    release_indices(released);
    if (keys.initiator) p.timers.on_current_keypair_changed(p.keypairs.current());
    p.timers.on_session_derived(now, rng_);
}

void Device::on_timer(Instant now, Outbox& out) {
    hint_.earliest = kNever;
    for (auto& slot : peers_) {
        if (!slot) continue;
        Peer& p = *slot;
        if (p.timers.next_deadline() <= now && out.free_datagrams() >= kOutboxTimerReserve) {
            run_timers(now, p, out);
        }
        hint_.note(p.timers.next_deadline());
    }
}

void Device::run_timers(Instant now, Peer& p, Outbox& out) {
    const std::uint32_t due = p.timers.expire(now);
    if (due & kActionZeroKeyMaterial) zero_key_material(p);
    if (due & kActionSessionExpired) {
        if (!out.add_event(EventKind::kSessionExpired, p.id)) drop(DropReason::kOutboxFull);
    }
    if (due & kActionGiveUp) {
        drop(DropReason::kHandshakeGaveUp, p.staged.purge());
        if (!out.add_event(EventKind::kHandshakeGaveUp, p.id)) drop(DropReason::kOutboxFull);
    }
    if (due & kActionRetransmitHandshake) send_initiation(now, p, out, true);
    if (due & kActionNewHandshake) send_initiation(now, p, out, false);
    if (due & kActionSendKeepalive) {
        send_keepalive(now, p, out);
        p.timers.on_expired_keepalive_sent(now);
    }
    if (due & kActionPersistentKeepalive) send_keepalive(now, p, out);
    if (due & kActionFlushStaged) send_staged(now, p, out);
}

}  // namespace tunless::wg
