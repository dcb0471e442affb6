// disco_fuzz: Tailscale disco envelopes and payloads (core/tailnet/disco.hpp) with fixed keys:
// a known peer and us. The harness can seal valid boxes around fuzzed payloads so the payload
// parser is reached through open_disco(), as a real peer's packet would reach it.
//
// Input: [flags u8][rest...]
//   flags bit 0: rest is a plaintext payload the harness seals from the peer to us (else rest
//                is the raw packet given to open_disco)
//   flags bit 1: (sealed) the sender is a stranger whose key `known` rejects
//   flags bit 2: (sealed) flip one byte of the box, chosen by the next input byte
//   u16 (the two bytes after flags): the DERP region the packet "arrived" through
// Also every input's rest goes to parse_disco_payload() directly. Properties: verdicts match
// the envelope's shape, re-serializing a parsed message never grows it and parses back to the
// same kind, and a Ping answered over DERP gives a Pong the peer can open, carrying the TxID
// and 127.3.3.40:<region>.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <variant>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "core/tailnet/disco.hpp"
#include "fuzz/fixed_key_pair.hpp"
#include "fuzz/fuzz_input.hpp"
#include "tests/support/test_rng.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
using namespace tunless::tailnet;

struct Keys {
    FixedKeyPair us{1};
    FixedKeyPair peer{2};
    FixedKeyPair stranger{3};
};

Bytes seal_raw(ByteView payload, const FixedKeyPair& from, const crypto::PublicKey& to) {
    Bytes out(kDiscoHeaderLen + kDiscoBoxOverhead + payload.size());
    std::copy(kDiscoMagic.begin(), kDiscoMagic.end(), out.begin());
    std::copy(from.pub.bytes.begin(), from.pub.bytes.end(), out.begin() + kDiscoMagic.size());
    std::uint8_t* nonce = out.data() + kDiscoMagic.size() + kDiscoKeyLen;
    for (std::size_t i = 0; i < kDiscoNonceLen; ++i) nonce[i] = static_cast<std::uint8_t>(i * 7);
    check(crypto_box_easy(out.data() + kDiscoHeaderLen, payload.data(), payload.size(), nonce,
                          to.bytes.data(), from.priv.data()) == 0,
          "sealing a payload failed");
    return out;
}

std::size_t kind_of(const DiscoMessage& m) { return m.index(); }

// Parsing then serializing drops ignored bytes only; the result parses back to the same kind.
// (Full equality does not hold for a Ping whose node-key field is all zero and whose padding
// reaches 32 bytes: upstream reads that zero key as "absent" too.)
void check_reserialize(std::size_t payload_len, const DiscoMessage& m) {
    auto again = serialize_disco_payload(m);
    check(again.has_value(), "a parsed message does not serialize");
    check(again->size() <= payload_len, "re-serialized message grew");
    auto back = parse_disco_payload(*again);
    check(back.has_value(), "a serialized message does not parse");
    check(kind_of(*back) == kind_of(m), "message kind changed in a round trip");
    const auto* ping = std::get_if<DiscoPing>(&m);
    if (ping == nullptr || ping->node_key || ping->padding < kDiscoKeyLen) {
        check(*back == m, "message changed in a round trip");
    }
}

void check_answer(const Keys& k, const OpenedDisco& opened, std::uint16_t region) {
    test::SeededRng rng(4);
    auto reply = answer_ping_via_derp(opened, region, k.us.priv, k.us.pub, rng);
    const auto* ping = std::get_if<DiscoPing>(&opened.message);
    check(reply.has_value() == (ping != nullptr), "only pings are answered");
    if (!reply) return;
    const crypto::PublicKey us_pub = k.us.pub;
    auto pong = open_disco(*reply, k.peer.priv,
                           [&us_pub](const crypto::PublicKey& key) { return key == us_pub; });
    check(pong.has_value(), "the peer cannot open our pong");
    const auto* p = std::get_if<DiscoPong>(&pong->message);
    check(p != nullptr, "the answer is not a pong");
    check(p->tx_id == ping->tx_id, "pong TxID differs from the ping's");
    check(p->src == derp_magic_addr(region), "pong source is not 127.3.3.40:<region>");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ok = crypto::init();
    check(ok, "crypto::init failed");
    static const Keys keys;
    ExactCopy input(ByteView(data, size));
    FuzzInput in(input.view());
    const std::uint8_t flags = in.u8();
    const std::uint16_t region = in.u16();
    const std::uint8_t flip_at = (flags & 4) ? in.u8() : 0;
    const ByteView rest = in.rest();

    auto direct = parse_disco_payload(rest);
    if (direct) check_reserialize(rest.size(), *direct);

    Bytes packet;
    const bool sealed = (flags & 1) != 0;
    const bool stranger = sealed && (flags & 2) != 0;
    bool tampered = false;
    if (sealed) {
        packet = stranger ? seal_raw(rest, keys.stranger, keys.us.pub)
                          : seal_raw(rest, keys.peer, keys.us.pub);
        if (flags & 4) {
            const std::size_t box_at = kDiscoMagic.size() + kDiscoKeyLen;
            packet[box_at + flip_at % (packet.size() - box_at)] ^= 0x01;
            tampered = true;
        }
    } else {
        packet.assign(rest.begin(), rest.end());
    }

    const ExactCopy wire{ByteView(packet)};
    const crypto::PublicKey peer_pub = keys.peer.pub;
    auto opened = open_disco(wire.view(), keys.us.priv,
                             [&peer_pub](const crypto::PublicKey& k) { return k == peer_pub; });
    if (!looks_like_disco(wire.view())) {
        check(!opened && opened.error().code == Errc::kInvalidArgument, "non-disco verdict");
    }
    if (sealed && packet.size() >= kDiscoMinPacketLen && packet.size() <= kDiscoMaxPacketLen) {
        if (stranger) {
            check(!opened && opened.error().code == Errc::kNotFound, "a stranger's box opened");
        } else if (tampered) {
            check(!opened && opened.error().code == Errc::kAuthFailed, "a tampered box opened");
        } else {
            check(opened.has_value() == direct.has_value(), "sealing changes the parse verdict");
        }
    }
    if (!opened) return 0;
    check(opened->sender == keys.peer.pub, "opened a box from someone else");
    check(kind_of(opened->message) <= 2, "variant index");
    if (!sealed || (!tampered && !stranger)) {
        // The box is exactly as long as the plaintext payload plus the tag.
        const std::size_t payload_len = wire.size() - kDiscoHeaderLen - kDiscoBoxOverhead;
        if (sealed) check(opened->message == *direct, "sealing changes the parsed message");
        check_reserialize(payload_len, opened->message);
    }
    check_answer(keys, *opened, region);
    return 0;
}
