#include "core/tailnet/derp_frames.hpp"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <string_view>

#include "core/crypto/x25519.hpp"

namespace tunless::tailnet::derp {
namespace {

static_assert(crypto_box_NONCEBYTES == kNonceLen);
static_assert(crypto_box_MACBYTES == kBoxOverhead);
static_assert(crypto_box_PUBLICKEYBYTES == kKeyLen && crypto_box_SECRETKEYBYTES == kKeyLen);

// Largest ServerInfo JSON we open: the real one is ~80 bytes; upstream allows 1 MiB.
constexpr std::size_t kMaxServerInfoJson = 4096;

// Tolerant lookup of `"name": <unsigned integer>` in the (authenticated, tiny) ServerInfo
// JSON. Only rate-limit hints depend on it, so a missing or odd field is simply 0. Not a JSON
// parser: a full parse is not worth it for two numbers (RapidJSON 1.1's parser also trips
// UBSan on an empty internal stack).
std::uint64_t uint_field(std::string_view json, std::string_view name) {
    const std::string quoted = "\"" + std::string(name) + "\"";
    const std::size_t at = json.find(quoted);
    if (at == std::string_view::npos) {
        return 0;
    }
    std::size_t i = at + quoted.size();
    auto skip_ws = [&] {
        while (i < json.size() &&
               std::string_view(" \t\r\n").find(json[i]) != std::string_view::npos) {
            ++i;
        }
    };
    skip_ws();
    if (i >= json.size() || json[i] != ':') {
        return 0;
    }
    ++i;
    skip_ws();
    std::uint64_t v = 0;
    const auto r = std::from_chars(json.data() + i, json.data() + json.size(), v);
    return r.ec == std::errc() ? v : 0;
}

}  // namespace

std::optional<FrameHeader> parse_frame_header(ByteView in) {
    if (in.size() < kFrameHeaderLen) {
        return std::nullopt;
    }
    return FrameHeader{in[0], load_be32(in.data() + 1)};
}

void append_frame_header(Bytes& out, std::uint8_t type, std::uint32_t length) {
    const std::size_t at = out.size();
    out.resize(at + kFrameHeaderLen);
    out[at] = type;
    store_be32(out.data() + at + 1, length);
}

void append_send_packet(Bytes& out, const crypto::PublicKey& dst, ByteView packet) {
    assert(packet.size() <= kMaxPacketLen);
    append_frame_header(out, kSendPacket, static_cast<std::uint32_t>(kKeyLen + packet.size()));
    out.insert(out.end(), dst.bytes.begin(), dst.bytes.end());
    out.insert(out.end(), packet.begin(), packet.end());
}

void append_note_preferred(Bytes& out, bool preferred) {
    append_frame_header(out, kNotePreferred, 1);
    out.push_back(preferred ? 0x01 : 0x00);
}

void append_ping(Bytes& out, const PingData& data) {
    append_frame_header(out, kPing, 8);
    out.insert(out.end(), data.begin(), data.end());
}

void append_pong(Bytes& out, const PingData& data) {
    append_frame_header(out, kPong, 8);
    out.insert(out.end(), data.begin(), data.end());
}

Status append_client_info(Bytes& out, const crypto::PrivateKey& node_key,
                          const crypto::PublicKey& server_key, Rng& rng) {
    const crypto::PublicKey node_pub = crypto::public_key_from_private(node_key);
    const std::size_t start = out.size();
    const std::size_t box_len = kBoxOverhead + kClientInfoJson.size();
    append_frame_header(out, kClientInfo,
                        static_cast<std::uint32_t>(kKeyLen + kNonceLen + box_len));
    out.insert(out.end(), node_pub.bytes.begin(), node_pub.bytes.end());
    const std::size_t nonce_at = out.size();
    out.resize(nonce_at + kNonceLen + box_len);
    std::uint8_t* nonce = out.data() + nonce_at;
    rng.fill(MutByteView(nonce, kNonceLen));
    // libsodium refuses a low-order server key (all-zero shared secret).
    if (crypto_box_easy(
            nonce + kNonceLen, reinterpret_cast<const unsigned char*>(kClientInfoJson.data()),
            kClientInfoJson.size(), nonce, server_key.bytes.data(), node_key.data()) != 0) {
        out.resize(start);
        return fail(Errc::kWeakKey, "derp: server key is a weak key");
    }
    return {};
}

Result<crypto::PublicKey> parse_server_key(ByteView payload) {
    // derp_client.go recvServerKey: "invalid server greeting".
    if (payload.size() < kServerKeyMinLen ||
        !std::equal(kMagic.begin(), kMagic.end(), payload.begin())) {
        return fail(Errc::kProtocol, "derp: invalid server greeting");
    }
    crypto::PublicKey key;
    std::copy_n(payload.begin() + kMagic.size(), kKeyLen, key.bytes.begin());
    return key;
}

Result<ServerInfo> open_server_info(ByteView payload, const crypto::PrivateKey& node_key,
                                    const crypto::PublicKey& server_key) {
    if (payload.size() < kNonceLen + kBoxOverhead) {
        return fail(Errc::kProtocol, "derp: short ServerInfo frame");
    }
    const std::size_t json_len = payload.size() - kNonceLen - kBoxOverhead;
    if (json_len > kMaxServerInfoJson) {
        return fail(Errc::kLimitReached, "derp: ServerInfo larger than 4 KiB");
    }
    std::string json(json_len, '\0');
    if (crypto_box_open_easy(reinterpret_cast<unsigned char*>(json.data()),
                             payload.data() + kNonceLen, payload.size() - kNonceLen, payload.data(),
                             server_key.bytes.data(), node_key.data()) != 0) {
        return fail(Errc::kAuthFailed, "derp: ServerInfo box does not open with the server key");
    }
    ServerInfo info;
    info.token_bucket_bytes_per_second = uint_field(json, "TokenBucketBytesPerSecond");
    info.token_bucket_bytes_burst = uint_field(json, "TokenBucketBytesBurst");
    info.json = std::move(json);
    return info;
}

}  // namespace tunless::tailnet::derp
