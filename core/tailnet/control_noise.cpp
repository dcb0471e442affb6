// ts2021 Noise IK initiator (tailscale control/controlbase/handshake.go). The record layer is
// in control_records.cpp.
#include "core/tailnet/control_noise.hpp"

#include <string>
#include <string_view>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/crypto/kdf.hpp"
#include "core/crypto/x25519.hpp"

namespace tunless::tailnet {
namespace {

constexpr std::string_view kProtocolName = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
constexpr std::string_view kProloguePrefix = "Tailscale Control Protocol v";
constexpr std::size_t kPayloadLen = kNoiseInitiationLen - 5;                      // 96
constexpr std::size_t kResponsePayloadLen = kNoiseResponseLen - kNoiseHeaderLen;  // 48
constexpr std::size_t kTagLen = 16;

ByteView bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void mix_hash(HandshakeHash& h, ByteView data) {
    h = crypto::blake2s_256(h, data);
}

// MixKey(DH(priv, pub)): ck, k = HKDF(ck, dh). An all-zero DH output fails (handshake.go
// MixDH errors on it through curve25519.X25519).
Status mix_dh(crypto::SymmetricKey& ck, crypto::SymmetricKey& k, const crypto::PrivateKey& priv,
              const crypto::PublicKey& pub) {
    auto shared = crypto::x25519(priv, pub);
    if (!shared) {
        return shared.error();
    }
    crypto::kdf2(ck, k, ck.view(), shared->view());
    return {};
}

// Handshake AEADs use each key once, so the nonce is all zero; AD = h (Noise §5.2).
constexpr std::array<std::uint8_t, crypto::kAeadNonceLen> kZeroNonce{};

void encrypt_and_hash(HandshakeHash& h, const crypto::SymmetricKey& k, MutByteView out,
                      ByteView plaintext) {
    crypto::aead_encrypt_nonce(out, k.view(), kZeroNonce, plaintext, h);
    mix_hash(h, out);
}

// The 0x03 text is unauthenticated: keep printable ASCII only, so it is safe to log.
std::string sanitise(ByteView text) {
    std::string s;
    s.reserve(text.size());
    for (std::uint8_t c : text) {
        s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    return s;
}

}  // namespace

Result<ControlHandshake> ControlHandshake::create(const crypto::PrivateKey& machine_key,
                                                  const crypto::PublicKey& control_key,
                                                  std::uint16_t protocol_version, Rng& rng) {
    ControlHandshake hs;
    hs.machine_key_ = machine_key;
    hs.control_key_ = control_key;
    hs.version_ = protocol_version;
    hs.ephemeral_ = crypto::generate_private_key(rng);

    hs.h_ = crypto::blake2s_256(bytes_of(kProtocolName));  // name > 32 bytes: h = HASH(name)
    hs.ck_ = crypto::SymmetricKey(hs.h_);
    // Prologue: the decimal version (handshake.go protocolVersionPrologue).
    const std::string prologue = std::string(kProloguePrefix) + std::to_string(protocol_version);
    mix_hash(hs.h_, bytes_of(prologue));
    // <- s
    mix_hash(hs.h_, control_key.view());

    std::uint8_t* m = hs.initiation_.data();
    store_be16(m, protocol_version);
    m[2] = noise_type::kInitiation;
    store_be16(m + 3, static_cast<std::uint16_t>(kPayloadLen));
    // -> e
    const crypto::PublicKey e_pub = crypto::public_key_from_private(hs.ephemeral_);
    std::copy(e_pub.bytes.begin(), e_pub.bytes.end(), m + 5);
    mix_hash(hs.h_, e_pub.view());
    // es
    crypto::SymmetricKey k;
    if (auto st = mix_dh(hs.ck_, k, hs.ephemeral_, control_key); !st) {
        return st.error();
    }
    // s
    const crypto::PublicKey machine_pub = crypto::public_key_from_private(machine_key);
    encrypt_and_hash(hs.h_, k, MutByteView(m + 37, 48), machine_pub.view());
    // ss
    if (auto st = mix_dh(hs.ck_, k, machine_key, control_key); !st) {
        return st.error();
    }
    encrypt_and_hash(hs.h_, k, MutByteView(m + 85, kTagLen), {});  // empty payload
    return hs;
}

Result<HandshakeStep> ControlHandshake::read_response(ByteView in) {
    if (done_) {
        return fail(Errc::kProtocol, "control noise: handshake already finished");
    }
    if (in.size() < kNoiseHeaderLen) {
        return HandshakeStep{};
    }
    const std::uint8_t type = in[0];
    const std::size_t len = load_be16(in.data() + 1);
    if (type == noise_type::kError) {
        // handshake.go continueClientHandshake: "server error: %q". Do not wait for more
        // than we keep of the text.
        const std::size_t keep = std::min(len, kNoiseMaxErrorText);
        if (in.size() < kNoiseHeaderLen + keep) {
            return HandshakeStep{};
        }
        done_ = true;
        ephemeral_.wipe();
        std::string text = sanitise(in.subspan(kNoiseHeaderLen, keep));
        return fail(Errc::kRefused, "control server refused the Noise handshake: \"" + text + "\"");
    }
    if (type != noise_type::kResponse || len != kResponsePayloadLen) {
        done_ = true;
        ephemeral_.wipe();
        return fail(Errc::kProtocol, type != noise_type::kResponse
                                         ? "control noise: unexpected handshake reply type"
                                         : "control noise: wrong handshake response length");
    }
    if (in.size() < kNoiseResponseLen) {
        return HandshakeStep{};
    }
    done_ = true;
    auto step = finish(in.first(kNoiseResponseLen));
    ephemeral_.wipe();
    ck_.wipe();
    return step;
}

Result<HandshakeStep> ControlHandshake::finish(ByteView response) {
    crypto::PublicKey re;
    std::copy_n(response.begin() + kNoiseHeaderLen, re.bytes.size(), re.bytes.begin());
    const ByteView tag = response.subspan(kNoiseHeaderLen + 32, kTagLen);
    // <- e
    mix_hash(h_, re.view());
    // ee (its key is unused: the next MixKey replaces it)
    crypto::SymmetricKey k;
    if (auto st = mix_dh(ck_, k, ephemeral_, re); !st) {
        return st.error();
    }
    // se
    if (auto st = mix_dh(ck_, k, machine_key_, re); !st) {
        return st.error();
    }
    MutByteView no_plaintext{};
    if (auto st = crypto::aead_decrypt_nonce(no_plaintext, k.view(), kZeroNonce, tag, h_); !st) {
        return fail(Errc::kAuthFailed, "control noise: handshake response does not verify");
    }
    mix_hash(h_, tag);
    // Split: k1 = client->server, k2 = server->client (handshake.go: tx c1, rx c2).
    crypto::SymmetricKey k1;
    crypto::SymmetricKey k2;
    crypto::kdf2(k1, k2, ck_.view(), {});
    HandshakeStep step;
    step.consumed = kNoiseResponseLen;
    step.channel.emplace(std::move(k1), std::move(k2), h_, version_);
    return step;
}

}  // namespace tunless::tailnet
