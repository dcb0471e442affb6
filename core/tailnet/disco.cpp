#include "core/tailnet/disco.hpp"

#include <sodium.h>

#include <algorithm>

namespace tunless::tailnet {
namespace {

static_assert(crypto_box_NONCEBYTES == kDiscoNonceLen);
static_assert(crypto_box_MACBYTES == kDiscoBoxOverhead);
static_assert(crypto_box_PUBLICKEYBYTES == kDiscoKeyLen);
static_assert(crypto_box_SECRETKEYBYTES == kDiscoKeyLen);

constexpr std::uint8_t kVersion0 = 0;
constexpr std::size_t kTypeHeaderLen = 2;  // type, version
constexpr std::size_t kAddrPortLen = 16 + 2;
constexpr std::size_t kPongBodyLen = kDiscoTxIdLen + kAddrPortLen;

DiscoAddrPort read_addr_port(const std::uint8_t* p) {
    // Go keeps IPv4 as v4-mapped on the wire and unmaps on parse (netip Unmap).
    return DiscoAddrPort{IpAddress::v6_bytes(p).unmap_v4(), load_be16(p + 16)};
}

void append_addr_port(Bytes& out, const DiscoAddrPort& ap) {
    std::uint8_t b[kAddrPortLen] = {};
    if (ap.ip.is_v4()) {
        b[10] = 0xff;
        b[11] = 0xff;
        std::copy_n(ap.ip.data(), 4, b + 12);
    } else {
        std::copy_n(ap.ip.data(), 16, b);
    }
    store_be16(b + 16, ap.port);
    out.insert(out.end(), b, b + kAddrPortLen);
}

Result<DiscoMessage> parse_ping(ByteView body) {
    if (body.size() < kDiscoTxIdLen) return fail(Errc::kProtocol, "disco: short ping");
    DiscoPing m;
    std::copy_n(body.begin(), kDiscoTxIdLen, m.tx_id.begin());
    body = body.subspan(kDiscoTxIdLen);
    // disco.go parsePing: 32 more bytes are the node key, the rest is padding.
    if (body.size() >= kDiscoKeyLen) {
        crypto::PublicKey k;
        std::copy_n(body.begin(), kDiscoKeyLen, k.bytes.begin());
        if (!k.is_zero()) m.node_key = k;
        body = body.subspan(kDiscoKeyLen);
    }
    m.padding = body.size();
    return DiscoMessage{std::move(m)};
}

Result<DiscoMessage> parse_pong(ByteView body) {
    if (body.size() < kPongBodyLen) return fail(Errc::kProtocol, "disco: short pong");
    DiscoPong m;
    std::copy_n(body.begin(), kDiscoTxIdLen, m.tx_id.begin());
    m.src = read_addr_port(body.data() + kDiscoTxIdLen);
    return DiscoMessage{std::move(m)};
}

DiscoMessage parse_call_me_maybe(std::uint8_t version, ByteView body) {
    DiscoCallMeMaybe m;
    // Upstream treats an odd length or a newer version as "no endpoints", not as an error.
    if (version != kVersion0 || body.size() % kAddrPortLen != 0) return m;
    m.endpoints.reserve(body.size() / kAddrPortLen);
    for (std::size_t at = 0; at < body.size(); at += kAddrPortLen) {
        m.endpoints.push_back(read_addr_port(body.data() + at));
    }
    return m;
}

struct Serializer {
    Bytes& out;

    Status operator()(const DiscoPing& m) const {
        const bool has_key = m.node_key && !m.node_key->is_zero();
        const std::size_t fixed = kTypeHeaderLen + kDiscoTxIdLen + (has_key ? kDiscoKeyLen : 0);
        if (m.padding > kDiscoMaxPayloadLen - fixed) {
            return fail(Errc::kInvalidArgument, "disco: ping padding too large");
        }
        out.reserve(fixed + m.padding);
        out.push_back(static_cast<std::uint8_t>(DiscoType::kPing));
        out.push_back(kVersion0);
        out.insert(out.end(), m.tx_id.begin(), m.tx_id.end());
        if (has_key) out.insert(out.end(), m.node_key->bytes.begin(), m.node_key->bytes.end());
        out.resize(out.size() + m.padding, 0);
        return {};
    }
    Status operator()(const DiscoPong& m) const {
        out.reserve(kTypeHeaderLen + kPongBodyLen);
        out.push_back(static_cast<std::uint8_t>(DiscoType::kPong));
        out.push_back(kVersion0);
        out.insert(out.end(), m.tx_id.begin(), m.tx_id.end());
        append_addr_port(out, m.src);
        return {};
    }
    Status operator()(const DiscoCallMeMaybe& m) const {
        if (m.endpoints.size() > (kDiscoMaxPayloadLen - kTypeHeaderLen) / kAddrPortLen) {
            return fail(Errc::kInvalidArgument, "disco: too many call-me-maybe endpoints");
        }
        out.reserve(kTypeHeaderLen + m.endpoints.size() * kAddrPortLen);
        out.push_back(static_cast<std::uint8_t>(DiscoType::kCallMeMaybe));
        out.push_back(kVersion0);
        for (const auto& ep : m.endpoints) append_addr_port(out, ep);
        return {};
    }
};

}  // namespace

bool looks_like_disco(ByteView packet) {
    return packet.size() >= kDiscoHeaderLen &&
           std::equal(kDiscoMagic.begin(), kDiscoMagic.end(), packet.begin());
}

Result<DiscoMessage> parse_disco_payload(ByteView payload) {
    if (payload.size() < kTypeHeaderLen) return fail(Errc::kProtocol, "disco: short message");
    const std::uint8_t type = payload[0];
    const std::uint8_t version = payload[1];
    const ByteView body = payload.subspan(kTypeHeaderLen);
    switch (static_cast<DiscoType>(type)) {
        case DiscoType::kPing: return parse_ping(body);
        case DiscoType::kPong: return parse_pong(body);
        case DiscoType::kCallMeMaybe: return parse_call_me_maybe(version, body);
    }
    return fail(Errc::kUnsupported, "disco: unknown message type");
}

Result<Bytes> serialize_disco_payload(const DiscoMessage& msg) {
    Bytes out;
    Status st = std::visit(Serializer{out}, msg);
    if (!st) return st.error();
    return out;
}

Result<OpenedDisco> open_disco(ByteView packet, const crypto::PrivateKey& our_disco_private,
                               const DiscoKeyKnown& known) {
    if (!looks_like_disco(packet)) return fail(Errc::kInvalidArgument, "disco: not a disco packet");
    if (packet.size() < kDiscoMinPacketLen) {
        return fail(Errc::kInvalidArgument, "disco: short packet");
    }
    if (packet.size() > kDiscoMaxPacketLen) {
        return fail(Errc::kInvalidArgument, "disco: oversized packet");
    }

    OpenedDisco opened;
    std::copy_n(packet.begin() + kDiscoMagic.size(), kDiscoKeyLen, opened.sender.bytes.begin());
    // Cheap check first: only peers we know are worth an X25519 (magicsock metricRecvDiscoBadPeer).
    if (!known || !known(opened.sender)) return fail(Errc::kNotFound, "disco: unknown sender");

    const std::uint8_t* nonce = packet.data() + kDiscoMagic.size() + kDiscoKeyLen;
    const ByteView box = packet.subspan(kDiscoHeaderLen);
    Bytes payload(box.size() - kDiscoBoxOverhead);
    // crypto_box = HSalsa20(X25519) + XSalsa20-Poly1305, the same construction as Go's
    // nacl/box.Precompute/SealAfterPrecomputation that key.DiscoPrivate.Shared uses.
    if (crypto_box_open_easy(payload.data(), box.data(), box.size(), nonce,
                             opened.sender.bytes.data(), our_disco_private.data()) != 0) {
        return fail(Errc::kAuthFailed, "disco: box does not open");
    }
    auto msg = parse_disco_payload(payload);
    if (!msg) return msg.error();
    opened.message = std::move(*msg);
    return opened;
}

Result<Bytes> seal_disco(const DiscoMessage& msg, const crypto::PrivateKey& our_disco_private,
                         const crypto::PublicKey& our_disco_public,
                         const crypto::PublicKey& peer_disco_public, Rng& rng) {
    auto payload = serialize_disco_payload(msg);
    if (!payload) return payload.error();
    Bytes out(kDiscoHeaderLen + kDiscoBoxOverhead + payload->size());
    std::copy(kDiscoMagic.begin(), kDiscoMagic.end(), out.begin());
    std::copy(our_disco_public.bytes.begin(), our_disco_public.bytes.end(),
              out.begin() + kDiscoMagic.size());
    std::uint8_t* nonce = out.data() + kDiscoMagic.size() + kDiscoKeyLen;
    rng.fill(MutByteView(nonce, kDiscoNonceLen));
    // libsodium refuses a low-order peer key (all-zero shared secret).
    if (crypto_box_easy(out.data() + kDiscoHeaderLen, payload->data(), payload->size(), nonce,
                        peer_disco_public.bytes.data(), our_disco_private.data()) != 0) {
        return fail(Errc::kWeakKey, "disco: peer disco key is a weak key");
    }
    return out;
}

DiscoAddrPort derp_magic_addr(std::uint16_t region) {
    return DiscoAddrPort{IpAddress::v4_bytes(kDerpMagicIpv4.data()), region};
}

std::optional<Bytes> answer_ping_via_derp(const OpenedDisco& in, std::uint16_t derp_region,
                                          const crypto::PrivateKey& our_disco_private,
                                          const crypto::PublicKey& our_disco_public, Rng& rng) {
    const auto* ping = std::get_if<DiscoPing>(&in.message);
    if (ping == nullptr) return std::nullopt;
    // magicsock handlePingLocked: Pong{TxID, Src: src}, where src of a DERP packet is
    // DerpMagicIP with the region id as port (magicsock derp receive path).
    const DiscoPong pong{ping->tx_id, derp_magic_addr(derp_region)};
    auto sealed = seal_disco(pong, our_disco_private, our_disco_public, in.sender, rng);
    if (!sealed) return std::nullopt;
    return std::move(*sealed);
}

}  // namespace tunless::tailnet
