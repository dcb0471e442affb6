// DERP relay wire format, protocol version 2 (tailscale derp/derp.go, derp/derp_client.go):
// frame = type (1) | BE32 payload length | payload. Builders for the frames a client sends
// and parsers for the payloads a client receives. The stateful client is
// derp_client_session.hpp; the HTTP upgrade that precedes the frames is http1.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::tailnet::derp {

inline constexpr int kProtocolVersion = 2;
inline constexpr std::size_t kFrameHeaderLen = 5;
inline constexpr std::size_t kKeyLen = 32;
inline constexpr std::size_t kNonceLen = 24;  // NaCl box nonce
inline constexpr std::size_t kBoxOverhead = 16;
inline constexpr std::size_t kMaxFrameLen = 1 << 20;    // derp_client.go Recv
inline constexpr std::size_t kMaxPacketLen = 64 << 10;  // derp.go MaxPacketSize
inline constexpr std::size_t kServerKeyMinLen = 8 + kKeyLen;
inline constexpr std::size_t kServerKeyMaxLen = 1 << 10;  // recvServerKey reads at most 1 KiB
// "DERP🔑" in UTF-8 (derp.go magic).
inline constexpr std::array<std::uint8_t, 8> kMagic{0x44, 0x45, 0x52, 0x50, 0xf0, 0x9f, 0x94, 0x91};

enum FrameType : std::uint8_t {
    kServerKey = 0x01,
    kClientInfo = 0x02,
    kServerInfo = 0x03,
    kSendPacket = 0x04,
    kRecvPacket = 0x05,
    kKeepAlive = 0x06,
    kNotePreferred = 0x07,
    kPeerGone = 0x08,
    kPeerPresent = 0x09,
    kForwardPacket = 0x0a,
    kWatchConns = 0x10,
    kClosePeer = 0x11,
    kPing = 0x12,
    kPong = 0x13,
    kHealth = 0x14,
    kRestarting = 0x15,
};

using PingData = std::array<std::uint8_t, 8>;

struct FrameHeader {
    std::uint8_t type = 0;
    std::uint32_t length = 0;  // payload bytes after the 5-byte header
};

// nullopt if fewer than 5 bytes.
std::optional<FrameHeader> parse_frame_header(ByteView in);

void append_frame_header(Bytes& out, std::uint8_t type, std::uint32_t length);
// Preconditions (asserted; the session checks them first): packet <= kMaxPacketLen.
void append_send_packet(Bytes& out, const crypto::PublicKey& dst, ByteView packet);
void append_note_preferred(Bytes& out, bool preferred);
void append_ping(Bytes& out, const PingData& data);
void append_pong(Bytes& out, const PingData& data);

// The ClientInfo JSON we send (derp_client.go clientInfo with CanAckPings).
inline constexpr std::string_view kClientInfoJson = R"({"version":2,"CanAckPings":true})";

// ClientInfo = our node public key | 24-byte random nonce | crypto_box_easy(json): libsodium's
// MAC || ciphertext layout is byte-identical to Go's nacl/box.Seal. kWeakKey (nothing
// written) for a low-order server key.
Status append_client_info(Bytes& out, const crypto::PrivateKey& node_key,
                          const crypto::PublicKey& server_key, Rng& rng);

// ServerKey payload: magic | 32-byte key | (future bytes, ignored). kProtocol otherwise.
Result<crypto::PublicKey> parse_server_key(ByteView payload);

struct ServerInfo {
    std::string json;  // the opened JSON text
    // Send-rate hints; 0 = unspecified (derp_client.go ServerInfoMessage).
    std::uint64_t token_bucket_bytes_per_second = 0;
    std::uint64_t token_bucket_bytes_burst = 0;
};

// ServerInfo payload: 24-byte nonce | box. kAuthFailed if the box does not open with
// (server_key, node_key); the two numbers are read tolerantly (missing/odd fields -> 0).
Result<ServerInfo> open_server_info(ByteView payload, const crypto::PrivateKey& node_key,
                                    const crypto::PublicKey& server_key);

}  // namespace tunless::tailnet::derp
