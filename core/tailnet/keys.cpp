#include "core/tailnet/keys.hpp"

#include <cassert>

namespace tunless::tailnet {

std::string_view key_prefix(KeyKind kind) {
    switch (kind) {
        case KeyKind::kMachinePublic: return "mkey:";
        case KeyKind::kNodePublic: return "nodekey:";
        case KeyKind::kDiscoPublic: return "discokey:";
        case KeyKind::kChallengePublic: return "chalpub:";
        case KeyKind::kPrivate: return "privkey:";
    }
    return "";
}

std::string key_to_text(KeyKind kind, ByteView key32) {
    assert(key32.size() == crypto::kKeyLen);
    if (key32.size() != crypto::kKeyLen) {
        return {};
    }
    std::string out(key_prefix(kind));
    out += crypto::key_to_hex(key32);
    return out;
}

Result<std::array<std::uint8_t, crypto::kKeyLen>> key_from_text(KeyKind kind,
                                                                std::string_view text) {
    const std::string_view prefix = key_prefix(kind);
    if (text.substr(0, prefix.size()) != prefix) {
        return fail(Errc::kInvalidArgument, "key does not start with '" + std::string(prefix) + "'");
    }
    auto raw = crypto::key_from_hex(text.substr(prefix.size()));
    if (!raw) {
        return fail(Errc::kInvalidArgument,
                    "key after '" + std::string(prefix) + "' is not 64 hex digits");
    }
    return *raw;
}

Result<crypto::PublicKey> public_key_from_text(KeyKind kind, std::string_view text) {
    auto raw = key_from_text(kind, text);
    if (!raw) {
        return raw.error();
    }
    crypto::PublicKey k;
    k.bytes = *raw;
    return k;
}

}  // namespace tunless::tailnet
