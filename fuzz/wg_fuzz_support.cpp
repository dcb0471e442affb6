#include "fuzz/wg_fuzz_support.hpp"

#include <array>
#include <cstring>
#include <string_view>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "fuzz/fuzz_input.hpp"

namespace tunless::fuzz {

void init_crypto_once() {
    static const bool ok = crypto::init();
    check(ok, "crypto::init failed");
}

crypto::PrivateKey fixed_private_key(std::uint8_t tag) {
    constexpr std::string_view kLabel = "tunless fuzz static key";
    std::array<std::uint8_t, 32> seed{};
    const std::uint8_t t[1] = {tag};
    seed = crypto::blake2s_256(
        ByteView(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()),
        ByteView(t, 1));
    crypto::PrivateKey key{ByteView(seed)};
    crypto::clamp_private_key(key);
    return key;
}

crypto::PublicKey fixed_public_key(std::uint8_t tag) {
    // Memoized: every iteration asks for the same few keys, and X25519 dominates setup cost.
    static std::array<std::optional<crypto::PublicKey>, 256> cache;
    if (!cache[tag]) cache[tag] = crypto::public_key_from_private(fixed_private_key(tag));
    return *cache[tag];
}

void write_valid_mac1(MutByteView msg, const crypto::PublicKey& to) {
    if (msg.size() != wg::initiation::kSize && msg.size() != wg::response::kSize) return;
    const auto label = wg::kLabelMac1;
    const auto key = crypto::blake2s_256(
        ByteView(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()), to.view());
    const std::size_t mac1_at = msg.size() - 2 * wg::kMacLen;
    crypto::blake2s(msg.subspan(mac1_at, wg::kMacLen), msg.first(mac1_at), ByteView(key));
    std::memset(msg.data() + mac1_at + wg::kMacLen, 0, wg::kMacLen);
}

std::optional<IpAddress> inner_source(ByteView p) {
    if (p.empty()) return std::nullopt;
    if ((p[0] >> 4) == 4 && p.size() >= 20) return IpAddress::v4_bytes(p.data() + 12);
    if ((p[0] >> 4) == 6 && p.size() >= 40) return IpAddress::v6_bytes(p.data() + 8);
    return std::nullopt;
}

MessageTarget::MessageTarget() {
    dev.set_private_key(fixed_private_key(kDeviceKeyTag));
    wg::PeerConfig pc;
    pc.public_key = fixed_public_key(kPeerKeyTag);
    pc.allowed_ips = {*IpPrefix::parse("10.0.0.2/32"), *IpPrefix::parse("fd00::2/128")};
    pc.endpoint = *Endpoint::parse_numeric("192.0.2.2:51820");
    const auto id = dev.add_peer(pc);
    check(id.has_value(), "add_peer");
    peer = *id;
}

ScriptedPeer::ScriptedPeer(std::uint8_t key_tag, const crypto::PublicKey& device_public,
                           std::uint64_t seed)
    : rng_(seed) {
    id_.private_key = fixed_private_key(key_tag);
    id_.public_key = fixed_public_key(key_tag);
    id_.present = true;
    hs_.remote_static = device_public;
    wg::precompute_static_static(id_, hs_);
    cookie_.init(device_public);
}

Bytes ScriptedPeer::make_initiation(Instant now, const crypto::Tai64n& timestamp,
                                    std::uint32_t index) {
    Bytes msg(wg::initiation::kSize);
    if (!wg::create_initiation(id_, hs_, rng_, timestamp, index, msg)) return {};
    cookie_.add_macs(msg, now);
    return msg;
}

bool ScriptedPeer::consume_response(ByteView datagram) {
    const auto parsed = wg::parse(datagram);
    const auto* view = std::get_if<wg::ResponseView>(&parsed);
    if (view == nullptr || view->receiver() != hs_.local_index) return false;
    if (!wg::consume_response(id_, hs_, *view)) return false;
    wg::SessionKeys keys;
    if (!wg::derive_session(hs_, keys)) return false;
    session_ = std::move(keys);
    counter_ = 0;
    return true;
}

Bytes ScriptedPeer::answer_initiation(Instant now, ByteView datagram, std::uint32_t index) {
    const auto parsed = wg::parse(datagram);
    const auto* view = std::get_if<wg::InitiationView>(&parsed);
    if (view == nullptr) return {};
    wg::InitiationCandidate c;
    if (!wg::open_initiation_static(id_, *view, c) || c.remote_static != hs_.remote_static) {
        return {};
    }
    if (!wg::open_initiation_timestamp(hs_, *view, c)) return {};
    wg::accept_initiation(hs_, c, now);
    Bytes msg(wg::response::kSize);
    if (!wg::create_response(hs_, rng_, index, msg)) return {};
    cookie_.add_macs(msg, now);
    wg::SessionKeys keys;
    if (!wg::derive_session(hs_, keys)) return {};
    session_ = std::move(keys);
    counter_ = 0;
    return msg;
}

void ScriptedPeer::consume_cookie_reply(ByteView datagram, Instant now) {
    const auto parsed = wg::parse(datagram);
    if (const auto* view = std::get_if<wg::CookieReplyView>(&parsed)) {
        (void)cookie_.consume_reply(*view, now);
    }
}

Bytes ScriptedPeer::make_transport(ByteView plain, std::uint64_t counter) const {
    Bytes msg(wg::transport_len(plain.size()));
    wg::write_transport_header(msg, session_->remote_index, counter);
    crypto::aead_encrypt(MutByteView(msg).subspan(wg::transport::kContent), session_->send,
                         counter, plain, {});
    return msg;
}

std::optional<Bytes> ScriptedPeer::open_transport(ByteView datagram) const {
    const auto parsed = wg::parse(datagram);
    const auto* view = std::get_if<wg::TransportView>(&parsed);
    if (view == nullptr || !session_ || view->receiver() != session_->local_index) {
        return std::nullopt;
    }
    Bytes plain(view->plaintext_len());
    if (!crypto::aead_decrypt(plain, session_->recv, view->counter(), view->encrypted_content(),
                              {})) {
        return std::nullopt;
    }
    return plain;
}


}  // namespace tunless::fuzz
