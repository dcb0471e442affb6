#include "core/wg/noise.hpp"

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"
#include "core/crypto/kdf.hpp"
#include "core/crypto/x25519.hpp"
#include "core/wg/messages.hpp"

namespace tunless::wg::noise {

namespace {

ByteView text_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

SymmetricState make_initial_state() {
    SymmetricState st;
    const auto c0 = crypto::blake2s_256(text_bytes(kConstruction));
    st.chaining_key = SymmetricKey(c0);
    const auto h0 = crypto::blake2s_256(c0, text_bytes(kIdentifier));
    st.hash = SymmetricKey(h0);
    return st;
}

}  // namespace

const SymmetricState& initial_state() {
    static const SymmetricState state = make_initial_state();
    return state;
}

void mix_hash(SymmetricKey& h, ByteView data) {
    const auto next = crypto::blake2s_256(h.view(), data);
    h = SymmetricKey(next);
}

void mix_key(SymmetricKey& ck, ByteView input) { crypto::kdf1(ck, ck.view(), input); }

void mix_key_and_key(SymmetricKey& ck, SymmetricKey& k, ByteView input) {
    crypto::kdf2(ck, k, ck.view(), input);
}

bool mix_dh(SymmetricKey& ck, SymmetricKey* k, const PrivateKey& priv, const PublicKey& pub) {
    auto shared = crypto::x25519(priv, pub);
    if (!shared) return false;
    if (k != nullptr) {
        mix_key_and_key(ck, *k, shared->view());
    } else {
        mix_key(ck, shared->view());
    }
    return true;  // `shared` wipes itself
}

void encrypt_and_hash(MutByteView out, const SymmetricKey& k, ByteView plain, SymmetricKey& h) {
    crypto::aead_encrypt(out, k, 0, plain, h.view());
    mix_hash(h, out);
}

bool decrypt_and_hash(MutByteView out, const SymmetricKey& k, ByteView cipher, SymmetricKey& h) {
    if (!crypto::aead_decrypt(out, k, 0, cipher, h.view())) return false;
    mix_hash(h, cipher);
    return true;
}

}  // namespace tunless::wg::noise
