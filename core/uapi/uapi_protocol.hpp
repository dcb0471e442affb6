// The WireGuard cross-platform userspace API ("UAPI", https://www.wireguard.com/xplatform/) as
// pure text processing: request framing, `set=1` parsing into typed operations, `get=1` reply
// serialisation, and the client-side parsers `tunless status` uses. No sockets and no device:
// app/uapi_server does the I/O and app/uapi_apply applies operations to the wg::Device.
// Semantics follow wireguard-go's device/uapi.go (errno values, key order, line-by-line set).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::uapi {

// errno values as the wire carries them: negated errno.h numbers, like wireguard-go's ipc
// package (`wg` prints strerror of the absolute value).
inline constexpr int kErrIo = -5;             // EIO
inline constexpr int kErrInvalid = -22;       // EINVAL: a bad key or value
inline constexpr int kErrUnknown = -55;       // ENOANO: wireguard-go's "other UAPI error"
inline constexpr int kErrProtocol = -71;      // EPROTO: a line without '='
inline constexpr int kErrNotSupported = -95;  // EOPNOTSUPP: fwmark != 0 (tunless has no SO_MARK)
inline constexpr int kErrPortInUse = -98;     // EADDRINUSE: listen_port could not be bound

// Limits (a request is a few hundred bytes per peer; configs are capped at 1 MiB too).
inline constexpr std::size_t kMaxLineBytes = 1024;
inline constexpr std::size_t kMaxRequestBytes = std::size_t{1} << 20;

struct Failure {
    int errno_value = kErrInvalid;
    std::string message;  // for the daemon's log; never contains key material
};

// ---- framing ------------------------------------------------------------------------------
enum class Operation : std::uint8_t {
    kGet,         // "get=1\n\n"
    kSet,         // "set=1\n" key=value lines "\n"
    kGetTunless,  // "get=tunless\n\n": the tunless counter extension (wg never sends it)
};

struct Request {
    Operation op = Operation::kGet;
    std::vector<std::string> lines;  // set: the key=value lines, without the blank line
};

struct Framed {
    enum class Kind : std::uint8_t {
        kIncomplete,  // need more bytes (or, at EOF, nothing left: close quietly)
        kRequest,     // `request` is complete; drop `consumed` bytes
        kReject,      // reply "errno=failure\n\n" and close (bad get trailer, too long)
        kClose,       // unknown operation: close without a reply (as wireguard-go does)
    };
    Kind kind = Kind::kIncomplete;
    Request request;
    Failure failure;
    std::size_t consumed = 0;
};

// Looks for one complete request at the start of `buffer`. `eof`: the client shut down its
// side, so a set without its blank line is taken as complete (wireguard-go's scanner does).
Framed take_request(std::string_view buffer, bool eof);

// ---- set ----------------------------------------------------------------------------------
namespace op {
struct PrivateKey {
    crypto::PrivateKey key;
};  // all-zero: "no key" (wireguard-go accepts it)
struct ListenPort {
    std::uint16_t port = 0;
};
struct Fwmark {
    std::uint32_t mark = 0;
};
struct ReplacePeers {};
struct Peer {
    crypto::PublicKey key;
};  // public_key=: selects (or creates) the peer
struct Remove {};
struct UpdateOnly {};
struct PresharedKey {
    crypto::SymmetricKey key;
};  // all-zero: none
struct SetEndpoint {
    Endpoint endpoint;
};
struct Keepalive {
    std::uint16_t seconds = 0;
};
struct ReplaceAllowedIps {};
struct AllowedIp {
    IpPrefix prefix;
};
struct ProtocolVersion {};
}  // namespace op

using SetOp =
    std::variant<op::PrivateKey, op::ListenPort, op::Fwmark, op::ReplacePeers, op::Peer, op::Remove,
                 op::UpdateOnly, op::PresharedKey, op::SetEndpoint, op::Keepalive,
                 op::ReplaceAllowedIps, op::AllowedIp, op::ProtocolVersion>;

// wireguard-go applies a set line by line and stops at the first bad line, keeping what came
// before. parse_set mirrors that: `ops` are the operations before the first bad line (apply
// them, in order), `failure` the bad line's error, if any.
struct SetParse {
    std::vector<SetOp> ops;
    std::optional<Failure> failure;
};
SetParse parse_set(const std::vector<std::string>& lines);

// ---- get ----------------------------------------------------------------------------------
struct PeerInfo {
    crypto::PublicKey public_key;
    std::optional<crypto::SymmetricKey> preshared_key;
    Endpoint endpoint;
    std::optional<WallTime> last_handshake;
    std::uint64_t tx_bytes = 0;
    std::uint64_t rx_bytes = 0;
    std::uint16_t persistent_keepalive_s = 0;
    std::vector<IpPrefix> allowed_ips;
};

struct DeviceInfo {
    std::optional<crypto::PrivateKey> private_key;
    std::uint16_t listen_port = 0;
    std::uint32_t fwmark = 0;
    std::vector<PeerInfo> peers;
};

// The body of a get reply (wireguard-go's key order), without the "errno=0" trailer.
std::string serialize_get(const DeviceInfo& info);
// "errno=N\n\n": ends every reply.
std::string errno_reply(int errno_value);

// Client side (`tunless status`): a whole reply, up to and including "errno=N\n\n".
// kIo for a reply with errno != 0 (message "errno=N"), kProtocol for malformed text.
Result<DeviceInfo> parse_get_reply(std::string_view reply);

// ---- get=tunless (extension) --------------------------------------------------------------
// Flat "key=value" lines; keys are dotted names ("drop.unknown_peer", "udp.rx_datagrams",
// "peer.<hex>.session"), values have no newline (serialize_pairs replaces any with ' ').
using KeyValues = std::vector<std::pair<std::string, std::string>>;
std::string serialize_pairs(const KeyValues& pairs);
Result<KeyValues> parse_pairs_reply(std::string_view reply);

// Splits a complete reply off the front of `buffer`: the length up to and including the
// blank line after "errno=N", or 0 when it is not complete yet.
std::size_t reply_length(std::string_view buffer);

}  // namespace tunless::uapi
