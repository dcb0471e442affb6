// Each step carries its Noise pattern token (IKpsk2: <- s; ...; -> e, es, s, ss, {t};
// <- e, ee, se, psk, {}) so it can be checked against the paper line by line.
#include "core/wg/handshake.hpp"

#include <cstring>

#include "core/crypto/kdf.hpp"
#include "core/crypto/x25519.hpp"

namespace tunless::wg {

using crypto::PublicKey;
using crypto::SymmetricKey;

namespace {

PublicKey public_from(ByteView b) {
    PublicKey k;
    std::memcpy(k.bytes.data(), b.data(), kKeyLen);
    return k;
}

}  // namespace

void Handshake::clear() {
    state = HandshakeState::kZeroed;
    sym.wipe();
    local_ephemeral.wipe();
    remote_ephemeral = PublicKey{};
    local_index = 0;
    remote_index = 0;
}

void precompute_static_static(const StaticIdentity& id, Handshake& hs) {
    hs.static_static.wipe();
    hs.static_static_valid = false;
    if (!id.present) return;
    auto ss = crypto::x25519(id.private_key, hs.remote_static);
    if (!ss) return;
    hs.static_static = std::move(*ss);
    hs.static_static_valid = true;
}

bool create_initiation(const StaticIdentity& id, Handshake& hs, Rng& rng,
                       const crypto::Tai64n& timestamp, std::uint32_t sender_index,
                       MutByteView msg) {
    if (!id.present || !hs.static_static_valid) return false;
    write_initiation_header(msg, sender_index);
    std::uint8_t* m = msg.data();

    noise::SymmetricState st = noise::initial_state();
    // <- s (pre-message): H = HASH(H || S_pub_r)
    noise::mix_hash(st.hash, hs.remote_static.view());

    // -> e
    crypto::PrivateKey eph = crypto::generate_private_key(rng);
    const PublicKey eph_pub = crypto::public_key_from_private(eph);
    std::memcpy(m + initiation::kEphemeral, eph_pub.bytes.data(), kKeyLen);
    noise::mix_key(st.chaining_key, eph_pub.view());
    noise::mix_hash(st.hash, eph_pub.view());

    // es: (C, k) = KDF2(C, DH(E_priv_i, S_pub_r))
    SymmetricKey k;
    if (!noise::mix_dh(st.chaining_key, &k, eph, hs.remote_static)) return false;

    // s: encrypted static = AEAD(k, 0, S_pub_i, H)
    noise::encrypt_and_hash(msg.subspan(initiation::kStatic, encrypted_len(kKeyLen)), k,
                            id.public_key.view(), st.hash);

    // ss: (C, k) = KDF2(C, DH(S_priv_i, S_pub_r)), precomputed
    noise::mix_key_and_key(st.chaining_key, k, hs.static_static.view());

    // {t}: encrypted timestamp = AEAD(k, 0, TAI64N, H)
    noise::encrypt_and_hash(msg.subspan(initiation::kTimestamp, encrypted_len(kTimestampLen)), k,
                            ByteView(timestamp.data(), timestamp.size()), st.hash);

    hs.sym = std::move(st);
    hs.local_ephemeral = std::move(eph);
    hs.local_index = sender_index;
    hs.remote_index = 0;
    hs.state = HandshakeState::kInitiationCreated;
    return true;
}

bool open_initiation_static(const StaticIdentity& id, const InitiationView& msg,
                            InitiationCandidate& out) {
    if (!id.present) return false;
    noise::SymmetricState st = noise::initial_state();
    // <- s (pre-message): H = HASH(H || S_pub_r), we are r
    noise::mix_hash(st.hash, id.public_key.view());

    // -> e
    const PublicKey e = public_from(msg.ephemeral());
    noise::mix_key(st.chaining_key, e.view());
    noise::mix_hash(st.hash, e.view());

    // es: (C, k) = KDF2(C, DH(S_priv_r, E_pub_i))
    SymmetricKey k;
    if (!noise::mix_dh(st.chaining_key, &k, id.private_key, e)) return false;

    // s: S_pub_i = AEAD-open(k, 0, encrypted static, H)
    PublicKey s;
    if (!noise::decrypt_and_hash(s.bytes, k, msg.encrypted_static(), st.hash)) return false;

    out.sym = std::move(st);
    out.remote_ephemeral = e;
    out.remote_static = s;
    out.sender_index = msg.sender();
    return true;
}

bool open_initiation_timestamp(const Handshake& hs, const InitiationView& msg,
                               InitiationCandidate& c) {
    if (!hs.static_static_valid) return false;
    // ss: (C, k) = KDF2(C, DH(S_priv_r, S_pub_i)), precomputed
    SymmetricKey k;
    noise::mix_key_and_key(c.sym.chaining_key, k, hs.static_static.view());
    // {t}: TAI64N = AEAD-open(k, 0, encrypted timestamp, H)
    return noise::decrypt_and_hash(c.timestamp, k, msg.encrypted_timestamp(), c.sym.hash);
}

void accept_initiation(Handshake& hs, InitiationCandidate& c, Instant now) {
    hs.sym = std::move(c.sym);
    hs.remote_ephemeral = c.remote_ephemeral;
    hs.remote_index = c.sender_index;
    hs.latest_timestamp = c.timestamp;
    hs.last_initiation_consumed = now;
    hs.local_ephemeral.wipe();
    hs.state = HandshakeState::kInitiationConsumed;
}

bool create_response(Handshake& hs, Rng& rng, std::uint32_t sender_index, MutByteView msg) {
    if (hs.state != HandshakeState::kInitiationConsumed) return false;
    write_response_header(msg, sender_index, hs.remote_index);
    noise::SymmetricState st = hs.sym;

    // <- e
    crypto::PrivateKey eph = crypto::generate_private_key(rng);
    const PublicKey eph_pub = crypto::public_key_from_private(eph);
    std::memcpy(msg.data() + response::kEphemeral, eph_pub.bytes.data(), kKeyLen);
    noise::mix_key(st.chaining_key, eph_pub.view());
    noise::mix_hash(st.hash, eph_pub.view());

    // ee: C = KDF1(C, DH(E_priv_r, E_pub_i))
    if (!noise::mix_dh(st.chaining_key, nullptr, eph, hs.remote_ephemeral)) return false;
    // se: C = KDF1(C, DH(E_priv_r, S_pub_i))
    if (!noise::mix_dh(st.chaining_key, nullptr, eph, hs.remote_static)) return false;

    // psk: (C, tau, k) = KDF3(C, Q); H = HASH(H || tau)
    SymmetricKey tau;
    SymmetricKey k;
    crypto::kdf3(st.chaining_key, tau, k, st.chaining_key.view(), hs.preshared_key.view());
    noise::mix_hash(st.hash, tau.view());

    // {}: encrypted nothing = AEAD(k, 0, empty, H)
    noise::encrypt_and_hash(msg.subspan(response::kEmpty, encrypted_len(0)), k, {}, st.hash);

    hs.sym = std::move(st);
    hs.local_ephemeral = std::move(eph);
    hs.local_index = sender_index;
    hs.state = HandshakeState::kResponseCreated;
    return true;
}

bool consume_response(const StaticIdentity& id, Handshake& hs, const ResponseView& msg) {
    if (hs.state != HandshakeState::kInitiationCreated || !id.present) return false;
    noise::SymmetricState st = hs.sym;

    // <- e
    const PublicKey e = public_from(msg.ephemeral());
    noise::mix_key(st.chaining_key, e.view());
    noise::mix_hash(st.hash, e.view());

    // ee: C = KDF1(C, DH(E_priv_i, E_pub_r))
    if (!noise::mix_dh(st.chaining_key, nullptr, hs.local_ephemeral, e)) return false;
    // se: C = KDF1(C, DH(S_priv_i, E_pub_r))
    if (!noise::mix_dh(st.chaining_key, nullptr, id.private_key, e)) return false;

    // psk: (C, tau, k) = KDF3(C, Q); H = HASH(H || tau)
    SymmetricKey tau;
    SymmetricKey k;
    crypto::kdf3(st.chaining_key, tau, k, st.chaining_key.view(), hs.preshared_key.view());
    noise::mix_hash(st.hash, tau.view());

    // {}: authenticate the transcript
    if (!noise::decrypt_and_hash({}, k, msg.encrypted_empty(), st.hash)) return false;

    hs.sym = std::move(st);
    hs.remote_ephemeral = e;
    hs.remote_index = msg.sender();
    hs.state = HandshakeState::kResponseConsumed;
    return true;
}

bool derive_session(Handshake& hs, SessionKeys& out) {
    if (hs.state == HandshakeState::kResponseConsumed) {
        // Initiator: (T_send_i, T_recv_i) = KDF2(C_i, ε)
        crypto::kdf2(out.send, out.recv, hs.sym.chaining_key.view(), {});
        out.initiator = true;
    } else if (hs.state == HandshakeState::kResponseCreated) {
        // Responder: (T_recv_r, T_send_r) = KDF2(C_r, ε)
        crypto::kdf2(out.recv, out.send, hs.sym.chaining_key.view(), {});
        out.initiator = false;
    } else {
        return false;
    }
    out.local_index = hs.local_index;
    out.remote_index = hs.remote_index;
    hs.clear();
    return true;
}

}  // namespace tunless::wg
