// wg::Device construction, configuration and introspection. The receive path is in
// device_receive.cpp, the send path and timer actions in device_send.cpp.
#include "core/wg/device.hpp"

#include <cstring>

#include "core/crypto/x25519.hpp"
#include "core/wg/peer.hpp"

namespace tunless::wg {

namespace {

// PeerId = generation << 16 | slot; generation starts at 1, so an id is never kNoPeer.
constexpr std::uint32_t kSlotBits = 16;
constexpr std::uint32_t kSlotMask = (1u << kSlotBits) - 1;
static_assert(kMaxPeers <= (std::size_t{1} << kSlotBits));

bool same_key(const crypto::SymmetricKey& a, const crypto::SymmetricKey& b) {
    return crypto::constant_time_equal(a.view(), b.view());
}

crypto::SymmetricKey psk_of(const PeerConfig& cfg) {
    return cfg.preshared_key ? *cfg.preshared_key : crypto::SymmetricKey{};
}

}  // namespace

std::size_t Device::KeyHash::operator()(const crypto::PublicKey& k) const noexcept {
    // Public keys are uniformly distributed; an attacker cannot insert keys, only look up.
    return static_cast<std::size_t>(load_le64(k.bytes.data()));
}

Device::Device(Rng& rng, WallClock& wall) : rng_(rng), wall_(wall), source_limiter_(rng) {}

Device::~Device() = default;

Peer* Device::peer_ptr(PeerId id) const {
    const std::uint32_t slot = id & kSlotMask;
    if (slot >= peers_.size()) return nullptr;
    Peer* p = peers_[slot].get();
    return (p != nullptr && p->id == id) ? p : nullptr;
}

Peer* Device::peer_by_key(const crypto::PublicKey& key) const {
    const auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : peer_ptr(it->second);
}

std::optional<PeerId> Device::find_peer(const crypto::PublicKey& key) const {
    const auto it = by_key_.find(key);
    if (it == by_key_.end()) return std::nullopt;
    return it->second;
}

void Device::release_handshake_index(Peer& p) {
    if (p.handshake.local_index != 0) {
        indices_.release(p.handshake.local_index);
        p.handshake.local_index = 0;
    }
}

void Device::release_indices(const ReleasedIndices& r) {
    for (std::size_t i = 0; i < r.count; ++i) indices_.release(r.index[i]);
}

void Device::zero_key_material(Peer& p) {
    release_handshake_index(p);
    p.handshake.clear();
    ReleasedIndices released;
    p.keypairs.clear(released);
    release_indices(released);
    p.timers.on_current_keypair_changed(nullptr);
}

void Device::set_private_key(const crypto::PrivateKey& key) {
    const crypto::PublicKey pub = crypto::public_key_from_private(key);
    if (identity_.present && same_key(identity_.private_key, key)) return;
    // A peer with our own public key would handshake with itself (wg removes it too).
    if (Peer* self = peer_by_key(pub)) remove_peer_internal(*self);
    identity_.private_key = key;
    identity_.public_key = pub;
    identity_.present = true;
    cookie_checker_.init(pub);
    for (auto& slot : peers_) {
        if (!slot) continue;
        Peer& p = *slot;
        precompute_static_static(identity_, p.handshake);
        release_handshake_index(p);
        p.handshake.clear();
        p.keypairs.expire_sending();
        p.timers.clear_initiation_rate_limit();
    }
}

void Device::set_timestamp_floor(const crypto::Tai64n& floor) {
    if (crypto::tai64n_after(floor, last_sent_timestamp_)) last_sent_timestamp_ = floor;
}

Result<PeerId> Device::add_peer(const PeerConfig& cfg) {
    if (cfg.public_key.is_zero()) return fail(Errc::kInvalidArgument, "peer public key is zero");
    if (identity_.present && cfg.public_key == identity_.public_key) {
        return fail(Errc::kInvalidArgument, "peer public key is our own public key");
    }
    if (by_key_.count(cfg.public_key) != 0) {
        return fail(Errc::kAlreadyExists, "a peer with this public key exists");
    }
    if (by_key_.size() >= kMaxPeers) return fail(Errc::kLimitReached, "too many peers");

    std::uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<std::uint32_t>(peers_.size());
        peers_.emplace_back();
        generations_.push_back(0);
    }
    std::uint16_t& gen = generations_[slot];
    gen = static_cast<std::uint16_t>(gen == 0xffff ? 1 : gen + 1);
    const PeerId id = (std::uint32_t{gen} << kSlotBits) | slot;

    auto p = std::make_unique<Peer>(hint_);
    p->id = id;
    p->endpoint = cfg.endpoint;
    p->handshake.remote_static = cfg.public_key;
    p->handshake.preshared_key = psk_of(cfg);
    p->has_psk = !p->handshake.preshared_key.is_zero();
    precompute_static_static(identity_, p->handshake);
    p->cookie.init(cfg.public_key);
    p->timers.set_persistent_keepalive(cfg.persistent_keepalive_s);
    for (const IpPrefix& prefix : cfg.allowed_ips) allowed_ips_.insert(prefix, id);
    by_key_.emplace(cfg.public_key, id);
    peers_[slot] = std::move(p);
    return id;
}

Status Device::update_peer(PeerId id, const PeerConfig& cfg) {
    Peer* p = peer_ptr(id);
    if (p == nullptr) return fail(Errc::kNotFound, "no such peer");
    if (!(cfg.public_key == p->public_key())) {
        return fail(Errc::kInvalidArgument, "a peer's public key cannot change; remove and add");
    }
    if (cfg.endpoint.is_set()) p->endpoint = cfg.endpoint;
    const crypto::SymmetricKey psk = psk_of(cfg);
    if (!same_key(psk, p->handshake.preshared_key)) {
        release_handshake_index(*p);
        p->handshake.clear();
        p->handshake.preshared_key = psk;
        p->has_psk = !psk.is_zero();
    }
    allowed_ips_.remove_by_peer(id);
    for (const IpPrefix& prefix : cfg.allowed_ips) allowed_ips_.insert(prefix, id);
    p->timers.set_persistent_keepalive(cfg.persistent_keepalive_s);
    return {};
}

void Device::remove_peer_internal(Peer& p) {
    const PeerId id = p.id;
    zero_key_material(p);
    drop(DropReason::kPeerRemoved, p.staged.purge());
    allowed_ips_.remove_by_peer(id);
    by_key_.erase(p.public_key());
    const std::uint32_t slot = id & kSlotMask;
    peers_[slot].reset();  // Handshake and Keypair secrets wipe themselves
    free_slots_.push_back(slot);
}

Status Device::remove_peer(const crypto::PublicKey& key) {
    Peer* p = peer_by_key(key);
    if (p == nullptr) return fail(Errc::kNotFound, "no such peer");
    remove_peer_internal(*p);
    return {};
}

Status Device::remove_peer(PeerId id) {
    Peer* p = peer_ptr(id);
    if (p == nullptr) return fail(Errc::kNotFound, "no such peer");
    remove_peer_internal(*p);
    return {};
}

Status Device::initiate(Instant now, PeerId id, Outbox& out) {
    Peer* p = peer_ptr(id);
    if (p == nullptr) return fail(Errc::kNotFound, "no such peer");
    if (!identity_.present) return fail(Errc::kInvalidArgument, "no private key set");
    p->timers.clear_initiation_rate_limit();
    send_initiation(now, *p, out, false);
    return {};
}

std::vector<PeerId> Device::peer_ids() const {
    std::vector<PeerId> ids;
    ids.reserve(by_key_.size());
    for (const auto& p : peers_) {
        if (p) ids.push_back(p->id);
    }
    return ids;
}

std::optional<crypto::SymmetricKey> Device::preshared_key(PeerId id) const {
    const Peer* p = peer_ptr(id);
    if (p == nullptr || !p->has_psk) return std::nullopt;
    return p->handshake.preshared_key;
}

std::optional<PeerStatus> Device::peer_status(PeerId id) const {
    const Peer* p = peer_ptr(id);
    if (p == nullptr) return std::nullopt;
    PeerStatus s;
    s.id = id;
    s.public_key = p->public_key();
    s.endpoint = p->endpoint;
    s.allowed_ips = allowed_ips_.entries_for(id);
    s.persistent_keepalive_s = p->timers.persistent_keepalive();
    s.last_handshake = p->last_handshake;
    s.rx_bytes = p->rx_bytes;
    s.tx_bytes = p->tx_bytes;
    s.has_preshared_key = p->has_psk;
    s.handshake_retries = p->timers.handshake_attempts();
    const Keypair* kp = p->keypairs.current();
    s.has_session = kp != nullptr && kp->send_counter < kRejectAfterMessages &&
                    !p->timers.session_expired();
    return s;
}

}  // namespace tunless::wg
