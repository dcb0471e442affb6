// Shared pieces of the WireGuard fuzz targets and the seed writer: fixed keys, MAC1 computed
// the way an honest sender does (so mutated handshake bodies get past the MAC1 gate), and
// ScriptedPeer, a harness-side WireGuard peer built from the handshake functions whose session
// keys the harness knows, so it can encrypt arbitrary plaintext with arbitrary counters.
// Not production code; everything is deterministic (fixed keys, SeededRng).
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/crypto/tai64n.hpp"
#include "core/wg/cookie.hpp"
#include "core/wg/device.hpp"
#include "core/wg/handshake.hpp"
#include "core/wg/messages.hpp"
#include "tests/support/test_rng.hpp"

namespace tunless::fuzz {

// crypto::init() once per process (aborts if libsodium cannot start).
void init_crypto_once();

// A clamped private key derived from a one-byte tag: the same key in every run.
crypto::PrivateKey fixed_private_key(std::uint8_t tag);
crypto::PublicKey fixed_public_key(std::uint8_t tag);

// Key tags used by all WireGuard targets and the seed writer.
inline constexpr std::uint8_t kDeviceKeyTag = 1;   // the device under test
inline constexpr std::uint8_t kPeerKeyTag = 2;     // its main peer (Device or ScriptedPeer)
inline constexpr std::uint8_t kOtherKeyTag = 3;    // a second configured peer
inline constexpr std::uint8_t kScriptedKeyTag = 4; // wg_data_fuzz's scripted peer

// Overwrites mac1 (and zeroes mac2) of an initiation or response in `msg`, keyed for the
// responder `to` (mac1 = MAC(HASH("mac1----" || to), msg up to mac1); WireGuard paper §5.4.4).
// No-op unless msg has the size of one of those messages.
void write_valid_mac1(MutByteView msg, const crypto::PublicKey& to);

// The source address of an IPv4/IPv6 packet, if the fixed header is there (oracle helper that
// does not reuse core/wg/inner_ip.cpp).
std::optional<IpAddress> inner_source(ByteView packet);

// The device wg_message_fuzz feeds: our fixed key, one peer (kPeerKeyTag) with allowed IPs
// 10.0.0.2/32 + fd00::2/128 at 192.0.2.2:51820, rng seed 7, FakeClock at its start. The seed
// writer builds the identical device, so its handshake messages are valid for the target.
struct MessageTarget {
    MessageTarget();
    test::SeededRng rng{7};
    test::FakeClock clock;
    wg::Device dev{rng, clock};
    wg::PeerId peer = wg::kNoPeer;
};

// A WireGuard peer driven by the harness: it speaks to one wg::Device (`device_public`) and
// keeps its session keys in the open.
class ScriptedPeer {
public:
    ScriptedPeer(std::uint8_t key_tag, const crypto::PublicKey& device_public,
                 std::uint64_t seed);

    const crypto::PublicKey& public_key() const { return id_.public_key; }

    // A fresh initiation (148 bytes) with the given timestamp and our MACs.
    Bytes make_initiation(Instant now, const crypto::Tai64n& timestamp, std::uint32_t index);
    // Consumes the device's response to our last initiation; true when a session is up.
    bool consume_response(ByteView datagram);
    // Answers an initiation from the device; returns the response (empty when it did not
    // authenticate). On success the session is up (we are the responder).
    Bytes answer_initiation(Instant now, ByteView datagram, std::uint32_t index);
    // Passes a cookie reply from the device to our cookie generator.
    void consume_cookie_reply(ByteView datagram, Instant now);

    bool has_session() const { return session_.has_value(); }
    // A transport message carrying `plain` (no padding added) under `counter`. Requires a
    // session.
    Bytes make_transport(ByteView plain, std::uint64_t counter) const;
    std::uint64_t next_counter() { return counter_++; }
    // Opens a transport message the device sent us; nullopt if it does not authenticate.
    std::optional<Bytes> open_transport(ByteView datagram) const;

private:
    test::SeededRng rng_;
    wg::StaticIdentity id_;
    wg::Handshake hs_;
    wg::CookieGenerator cookie_;
    std::optional<wg::SessionKeys> session_;
    std::uint64_t counter_ = 0;
};

}  // namespace tunless::fuzz
