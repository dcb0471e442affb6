#include "core/crypto/keys.hpp"

#include <cassert>

#include <sodium.h>

namespace tunless::crypto {
namespace {

constexpr std::size_t kBase64Len = 44;
constexpr std::size_t kHexLen = 64;

}  // namespace

bool PublicKey::is_zero() const { return is_all_zero(view()); }

std::string key_to_base64(ByteView key32) {
    assert(key32.size() == kKeyLen);
    if (key32.size() != kKeyLen) {
        return {};
    }
    char buf[sodium_base64_ENCODED_LEN(kKeyLen, sodium_base64_VARIANT_ORIGINAL)];
    static_assert(sizeof(buf) == kBase64Len + 1);
    sodium_bin2base64(buf, sizeof(buf), key32.data(), key32.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    std::string out(buf, kBase64Len);
    secure_wipe(buf, sizeof(buf));
    return out;
}

Result<std::array<std::uint8_t, kKeyLen>> key_from_base64(std::string_view text) {
    std::array<std::uint8_t, kKeyLen> out{};
    std::size_t len = 0;
    // libsodium's decoder is constant-time in the input, requires the '=' pad for this
    // variant and rejects non-canonical trailing bits; a null end pointer makes any
    // unparsed character an error.
    if (text.size() != kBase64Len ||
        sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len,
                          nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != kKeyLen) {
        secure_wipe(out.data(), out.size());
        return fail(Errc::kInvalidArgument, "key is not 44 characters of base64 encoding 32 bytes");
    }
    return out;
}

std::string key_to_hex(ByteView key32) {
    assert(key32.size() == kKeyLen);
    if (key32.size() != kKeyLen) {
        return {};
    }
    char buf[kHexLen + 1];
    sodium_bin2hex(buf, sizeof(buf), key32.data(), key32.size());  // lowercase
    std::string out(buf, kHexLen);
    secure_wipe(buf, sizeof(buf));
    return out;
}

Result<std::array<std::uint8_t, kKeyLen>> key_from_hex(std::string_view text) {
    std::array<std::uint8_t, kKeyLen> out{};
    std::size_t len = 0;
    if (text.size() != kHexLen ||
        sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len,
                       nullptr) != 0 ||
        len != kKeyLen) {
        secure_wipe(out.data(), out.size());
        return fail(Errc::kInvalidArgument, "key is not 64 hex digits");
    }
    return out;
}

std::string public_key_short(const PublicKey& key) {
    return key_to_base64(key.view()).substr(0, 8) + "\u2026";
}

}  // namespace tunless::crypto
