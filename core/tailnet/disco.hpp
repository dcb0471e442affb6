// Tailscale disco messages (tailscale disco/disco.go; magicsock.go sendDiscoMessage and
// handleDiscoMessage): the payload codec (Ping, Pong, CallMeMaybe), the NaCl-box envelope
// "TS💬" | sender disco public key | nonce | box(payload), and the one reply a DERP-only node
// gives: a Pong to a Ping that arrived over DERP. Sans-IO; the tailnet node calls
// open_disco() on relay packets that looks_like_disco() and sends what answer_ping_via_derp()
// returns back through the same DERP region.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::tailnet {

// "TS💬" in UTF-8 (disco.go Magic).
inline constexpr std::array<std::uint8_t, 6> kDiscoMagic{0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac};
inline constexpr std::size_t kDiscoKeyLen = 32;
inline constexpr std::size_t kDiscoNonceLen = 24;
inline constexpr std::size_t kDiscoBoxOverhead = 16;  // Poly1305 tag of the NaCl box
// magic | sender disco key | nonce; the sealed payload follows.
inline constexpr std::size_t kDiscoHeaderLen = kDiscoMagic.size() + kDiscoKeyLen + kDiscoNonceLen;
// Smallest envelope that can hold a message: header, tag, type and version bytes.
inline constexpr std::size_t kDiscoMinPacketLen = kDiscoHeaderLen + kDiscoBoxOverhead + 2;
// Disco travels in one UDP datagram or one DERP packet (derp.go MaxPacketSize, 64 KiB).
inline constexpr std::size_t kDiscoMaxPacketLen = 64 << 10;
inline constexpr std::size_t kDiscoTxIdLen = 12;
// Payload room left in the largest packet: bounds Ping padding and CallMeMaybe endpoint lists.
inline constexpr std::size_t kDiscoMaxPayloadLen =
    kDiscoMaxPacketLen - kDiscoHeaderLen - kDiscoBoxOverhead;

enum class DiscoType : std::uint8_t { kPing = 0x01, kPong = 0x02, kCallMeMaybe = 0x03 };

using DiscoTxId = std::array<std::uint8_t, kDiscoTxIdLen>;

// 16-byte address + big-endian port on the wire; IPv4 travels v4-mapped (::ffff:a.b.c.d) and
// is unmapped on parse, as Go's netip.AddrPort does.
struct DiscoAddrPort {
    IpAddress ip;
    std::uint16_t port = 0;
    auto operator<=>(const DiscoAddrPort&) const = default;
};

struct DiscoPing {
    DiscoTxId tx_id{};
    // The sender's node key, "allegedly" (disco.go): only a hint to pair with netmap data.
    // Clients up to 1.16 omit it; an all-zero key counts as absent, as upstream's IsZero.
    std::optional<crypto::PublicKey> node_key;
    std::size_t padding = 0;  // zero bytes after the body (path-MTU probes)
    bool operator==(const DiscoPing&) const = default;
};

struct DiscoPong {
    DiscoTxId tx_id{};
    DiscoAddrPort src;  // where the pinger was seen from; 127.3.3.40:<region> for DERP
    bool operator==(const DiscoPong&) const = default;
};

struct DiscoCallMeMaybe {
    std::vector<DiscoAddrPort> endpoints;
    bool operator==(const DiscoCallMeMaybe&) const = default;
};

using DiscoMessage = std::variant<DiscoPing, DiscoPong, DiscoCallMeMaybe>;

// Transport-level test (disco.go LooksLikeDiscoWrapper): the magic and room for the sender key
// and nonce. Such a packet is never WireGuard, whether or not it opens.
bool looks_like_disco(ByteView packet);

// Inner payload: type | version | body. Errors: kProtocol (shorter than the type needs),
// kUnsupported (any other type, e.g. the 0x04-0x09 peer-relay messages). Bytes after a body
// are ignored and the version byte is not checked, as upstream does for forward
// compatibility; a CallMeMaybe with version != 0 or a length not a multiple of 18 parses as an
// empty endpoint list (disco.go parseCallMeMaybe).
Result<DiscoMessage> parse_disco_payload(ByteView payload);
// kInvalidArgument if the result would not fit kDiscoMaxPayloadLen.
Result<Bytes> serialize_disco_payload(const DiscoMessage& msg);

struct OpenedDisco {
    crypto::PublicKey sender;  // the sender's disco public key (from the header, now proven)
    DiscoMessage message;
};

// Whether a disco public key belongs to a peer we talk to (e.g. from the netmap).
using DiscoKeyKnown = std::function<bool(const crypto::PublicKey&)>;

// Opens one envelope addressed to us. The sender must pass `known` before any crypto is done,
// so strangers cost no X25519 (magicsock anyEndpointForDiscoKey). Errors, for drop counters:
//   kInvalidArgument  not disco, shorter than kDiscoMinPacketLen, or over kDiscoMaxPacketLen
//   kNotFound         sender disco key not known
//   kAuthFailed       box does not open (wrong recipient, tampered, low-order sender key)
//   kProtocol / kUnsupported  opened, but the payload does not parse (see above)
Result<OpenedDisco> open_disco(ByteView packet, const crypto::PrivateKey& our_disco_private,
                               const DiscoKeyKnown& known);

// magic | our disco public | fresh 24-byte nonce | crypto_box(payload) for `peer_disco_public`.
// kWeakKey if the peer key is low order; kInvalidArgument if the payload is too large.
Result<Bytes> seal_disco(const DiscoMessage& msg, const crypto::PrivateKey& our_disco_private,
                         const crypto::PublicKey& our_disco_public,
                         const crypto::PublicKey& peer_disco_public, Rng& rng);

// tailcfg.DerpMagicIP: the fake address magicsock gives packets that came through DERP, with
// the region id as port ("3.3.40" are the digits above D, E, R, P on a keyboard).
inline constexpr std::array<std::uint8_t, 4> kDerpMagicIpv4{127, 3, 3, 40};
DiscoAddrPort derp_magic_addr(std::uint16_t region);

// The reply to a disco message received over DERP region `derp_region`: for a Ping, the sealed
// Pong (same TxID, src 127.3.3.40:<region>) addressed to the Ping's sender, to be sent back
// through that region to the node key the packet came from (magicsock handlePingLocked).
// nullopt for anything else (Pong, CallMeMaybe) or if sealing fails.
std::optional<Bytes> answer_ping_via_derp(const OpenedDisco& in, std::uint16_t derp_region,
                                          const crypto::PrivateKey& our_disco_private,
                                          const crypto::PublicKey& our_disco_public, Rng& rng);

}  // namespace tunless::tailnet
