// wg::Device receive path: datagram -> parse -> (handshake | cookie reply | transport data).
// Handshake messages pass MAC1 (always) and, under load, MAC2 + the per-source rate limit
// before any Diffie-Hellman work (paper §5.3). Data is decrypted into the Outbox, checked
// against the replay window, then the inner packet against cryptokey routing (paper §2).
#include <variant>

#include "core/crypto/aead.hpp"
#include "core/wg/device.hpp"
#include "core/wg/inner_ip.hpp"
#include "core/wg/messages.hpp"
#include "core/wg/peer.hpp"

namespace tunless::wg {

void Device::on_datagram(Instant now, const Endpoint& from, ByteView datagram, Outbox& out) {
    const ParsedMessage msg = parse(datagram);
    if (const auto* t = std::get_if<TransportView>(&msg)) {
        receive_transport(now, from, *t, out);
    } else if (const auto* i = std::get_if<InitiationView>(&msg)) {
        if (check_handshake_macs(now, from, i->bytes(), i->sender(), out)) {
            receive_initiation(now, from, *i, out);
        }
    } else if (const auto* r = std::get_if<ResponseView>(&msg)) {
        if (check_handshake_macs(now, from, r->bytes(), r->sender(), out)) {
            receive_response(now, from, *r, out);
        }
    } else if (const auto* c = std::get_if<CookieReplyView>(&msg)) {
        receive_cookie_reply(now, *c);
    } else if (const auto* reason = std::get_if<DropReason>(&msg)) {
        drop(*reason);
    }
}

bool Device::check_handshake_macs(Instant now, const Endpoint& from, ByteView msg,
                                  std::uint32_t sender, Outbox& out) {
    if (!identity_.present) {
        drop(DropReason::kNoIdentity);
        return false;
    }
    if (!cookie_checker_.check_mac1(msg)) {
        drop(DropReason::kBadMac1);
        return false;
    }
    if (!load_.record(now)) return true;
    // Under load: only messages carrying a valid cookie MAC get DH work (kernel
    // wg_receive_handshake_packet); the rest get a cookie reply instead.
    const CookieSource src = cookie_source(from);
    if (!cookie_checker_.check_mac2(msg, src, now)) {
        MutByteView buf = out.reserve_datagram(cookie_reply::kSize);
        if (buf.empty()) {
            drop(DropReason::kOutboxFull);
        } else {
            cookie_checker_.create_reply(buf, msg, sender, src, now, rng_);
            out.commit_datagram(from, cookie_reply::kSize, kNoPeer);
            ++stats_.cookie_replies_sent;
        }
        drop(DropReason::kCookieRequired);
        return false;
    }
    if (!source_limiter_.allow(from, now)) {
        drop(DropReason::kRateLimited);
        return false;
    }
    return true;
}

void Device::receive_initiation(Instant now, const Endpoint& from, const InitiationView& m,
                                Outbox& out) {
    InitiationCandidate c;
    if (!open_initiation_static(identity_, m, c)) {
        drop(DropReason::kHandshakeFailed);
        return;
    }
    Peer* p = peer_by_key(c.remote_static);
    if (p == nullptr) {
        drop(DropReason::kUnknownPeer);
        return;
    }
    Handshake& hs = p->handshake;
    if (!open_initiation_timestamp(hs, m, c)) {
        drop(DropReason::kHandshakeFailed);
        return;
    }
    // Replay: the TAI64N must be strictly newer than the newest we accepted (paper §5.1).
    if (!crypto::tai64n_after(c.timestamp, hs.latest_timestamp)) {
        drop(DropReason::kStaleTimestamp);
        return;
    }
    // Flood: at most one initiation per kHandshakeInitiationRate per peer (wireguard-go).
    if (hs.last_initiation_consumed && now - *hs.last_initiation_consumed <= kHandshakeInitiationRate) {
        drop(DropReason::kInitiationFlood);
        return;
    }
    release_handshake_index(*p);  // our own initiation in flight, if any, is superseded
    accept_initiation(hs, c, now);
    update_endpoint(*p, from, out);
    p->rx_bytes += m.bytes().size();
    p->timers.on_any_authenticated_packet_traversal(now);
    p->timers.on_any_authenticated_packet_received(now);
    send_response(now, *p, out);
}

void Device::receive_response(Instant now, const Endpoint& from, const ResponseView& m,
                              Outbox& out) {
    const IndexEntry* e = indices_.find(m.receiver());
    Peer* p = e != nullptr && e->kind == IndexKind::kHandshake ? peer_ptr(e->peer) : nullptr;
    if (p == nullptr) {
        drop(DropReason::kUnknownReceiverIndex);
        return;
    }
    if (p->handshake.state != HandshakeState::kInitiationCreated ||
        p->handshake.local_index != m.receiver()) {
        drop(DropReason::kUnexpectedResponse);
        return;
    }
    if (!consume_response(identity_, p->handshake, m)) {
        drop(DropReason::kHandshakeFailed);
        return;
    }
    update_endpoint(*p, from, out);
    p->rx_bytes += m.bytes().size();
    p->timers.on_any_authenticated_packet_traversal(now);
    p->timers.on_any_authenticated_packet_received(now);
    install_session(now, *p);
    handshake_complete(now, *p, out);
    // Confirms the session to the responder at once: staged data if any, else a keepalive.
    send_keepalive(now, *p, out);
}

void Device::receive_cookie_reply(Instant now, const CookieReplyView& m) {
    const IndexEntry* e = indices_.find(m.receiver());
    Peer* p = e != nullptr ? peer_ptr(e->peer) : nullptr;
    if (p == nullptr) {
        drop(DropReason::kUnknownReceiverIndex);
        return;
    }
    if (!p->cookie.consume_reply(m, now)) drop(DropReason::kBadCookieReply);
}

Keypair* Device::open_transport(Instant now, const TransportView& m, Peer*& peer,
                                MutByteView& plain, Outbox& out) {
    const IndexEntry* e = indices_.find(m.receiver());
    peer = e != nullptr && e->kind == IndexKind::kKeypair ? peer_ptr(e->peer) : nullptr;
    Keypair* kp = peer != nullptr ? peer->keypairs.find(m.receiver()) : nullptr;
    if (kp == nullptr) {
        drop(DropReason::kUnknownReceiverIndex);
        return nullptr;
    }
    if (!keypair_can_receive(*kp, now)) {
        drop(DropReason::kExpiredKeypair);
        return nullptr;
    }
    const std::uint64_t counter = m.counter();
    if (counter >= kRejectAfterMessages) {
        drop(DropReason::kMessageLimit);
        return nullptr;
    }
    const std::size_t n = m.plaintext_len();
    plain = out.reserve_packet(n);
    if (n != 0 && plain.empty()) {
        drop(DropReason::kOutboxFull);
        return nullptr;
    }
    if (!crypto::aead_decrypt(plain, kp->recv_key, counter, m.encrypted_content(), {})) {
        drop(DropReason::kDecryptFailed);
        return nullptr;
    }
    // Only an authenticated counter may move the window.
    if (!kp->replay.validate_counter(counter)) {
        drop(DropReason::kReplayedCounter);
        return nullptr;
    }
    return kp;
}

void Device::receive_transport(Instant now, const Endpoint& from, const TransportView& m,
                               Outbox& out) {
    Peer* p = nullptr;
    MutByteView plain;
    Keypair* kp = open_transport(now, m, p, plain, out);
    if (kp == nullptr) return;
    p->rx_bytes += m.bytes().size();
    ReleasedIndices released;
    const bool confirmed = p->keypairs.confirm(kp, released);
    if (confirmed) {
        // Paper §5.4.5: the initiator's first data message confirms the responder's keypair.
        release_indices(released);
        p->timers.on_current_keypair_changed(p->keypairs.current());
        handshake_complete(now, *p, out);
    }
    update_endpoint(*p, from, out);
    if (p->timers.want_rekey_after_receive(p->keypairs.current(), now)) {
        send_initiation(now, *p, out, false);
    }
    p->timers.on_any_authenticated_packet_traversal(now);
    p->timers.on_any_authenticated_packet_received(now);
    if (!plain.empty()) {  // an empty plaintext is a keepalive: nothing to deliver
        p->timers.on_data_received(now);
        deliver_inner(*p, plain, out);
    }
    if (confirmed) send_staged(now, *p, out);
}

void Device::deliver_inner(Peer& p, ByteView plain, Outbox& out) {
    // Kernel wg_packet_consume_data_done: a valid IP header, trimmed to its own length (the
    // rest is padding), and a source address this peer is allowed to use.
    const std::optional<InnerIp> ip = parse_inner_ip(plain);
    if (!ip) {
        drop(DropReason::kBadInnerPacket);
        return;
    }
    const std::optional<PeerId> owner = allowed_ips_.lookup(ip->src);
    if (!owner || *owner != p.id) {
        drop(DropReason::kSourceNotAllowed);
        return;
    }
    out.commit_packet(ip->total_len, p.id);
}

void Device::update_endpoint(Peer& p, const Endpoint& from, Outbox& out) {
    // Roaming (paper §2.1): the source of the latest authenticated packet is the endpoint.
    if (p.endpoint == from) return;
    p.endpoint = from;
    if (!out.add_event(EventKind::kEndpointChanged, p.id)) drop(DropReason::kOutboxFull);
}

void Device::handshake_complete(Instant now, Peer& p, Outbox& out) {
    p.timers.on_handshake_complete(now);
    p.last_handshake = wall_.now();
    ++stats_.handshakes_completed;
    if (!out.add_event(EventKind::kHandshakeCompleted, p.id)) drop(DropReason::kOutboxFull);
}

}  // namespace tunless::wg
