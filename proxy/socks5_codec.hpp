// SOCKS5 wire codec (RFC 1928, RFC 1929 username/password): sans-IO parsers for what a local
// client sends (greeting, auth request, request, UDP datagram header) and serializers for what
// the server answers. It holds no state and does no I/O; the SOCKS5 server drives the phases,
// keeps one buffer of kMaxClientMessageSize bytes and re-parses it as bytes arrive.
//
// Parsers take the bytes buffered so far, starting at the first byte of the message, and return
// kNeedMore, kDone (with `consumed`; later bytes belong to the next phase) or kError with a
// Fault. What to send on a fault (docs/proxy-protocols.md has the table):
//   greeting: kBadVersion -> close without a reply (SOCKS4, HTTP or noise on the port);
//   auth:     any fault   -> build_auth_status(false), then close (RFC 1929 §2);
//   request:  any fault   -> build_failure_reply(reply_for(fault)), then close;
//   UDP:      any fault   -> drop the datagram silently (RFC 1928 §7).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/base/bytes.hpp"
#include "proxy/codec_types.hpp"
#include "proxy/target.hpp"

namespace tunless::proxy::socks5 {

inline constexpr std::uint8_t kVersion = 0x05;      // RFC 1928 §3
inline constexpr std::uint8_t kAuthVersion = 0x01;  // RFC 1929 §2

// Largest message of each kind: 1-byte lengths bound them all.
inline constexpr std::size_t kMaxGreetingSize = 2 + 255;
inline constexpr std::size_t kMaxAuthRequestSize = 3 + 255 + 255;
inline constexpr std::size_t kMaxRequestSize = 4 + 1 + 255 + 2;
inline constexpr std::size_t kMaxReplySize = kMaxRequestSize;
inline constexpr std::size_t kMaxUdpHeaderSize = 4 + 1 + 255 + 2;
// A buffer this large always holds a whole client message (the auth request is the largest).
inline constexpr std::size_t kMaxClientMessageSize = kMaxAuthRequestSize;

enum class Method : std::uint8_t {  // RFC 1928 §3
    kNoAuth = 0x00,
    kGssapi = 0x01,
    kUserPass = 0x02,
    kNoAcceptable = 0xFF,
};

enum class Command : std::uint8_t {  // RFC 1928 §4
    kConnect = 0x01,
    kBind = 0x02,
    kUdpAssociate = 0x03,
};

enum class AddressType : std::uint8_t {  // RFC 1928 §4
    kIpv4 = 0x01,
    kDomain = 0x03,
    kIpv6 = 0x04,
};

enum class Reply : std::uint8_t {  // RFC 1928 §6, REP field
    kSucceeded = 0x00,
    kGeneralFailure = 0x01,
    kNotAllowed = 0x02,
    kNetworkUnreachable = 0x03,
    kHostUnreachable = 0x04,
    kConnectionRefused = 0x05,
    kTtlExpired = 0x06,
    kCommandNotSupported = 0x07,
    kAddressTypeNotSupported = 0x08,
};

// Why client bytes were rejected: one named, counted drop reason each.
enum class Fault : std::uint8_t {
    kNone,
    kBadVersion,         // greeting VER != 5
    kBadAuthVersion,     // RFC 1929 VER != 1
    kBadRequestVersion,  // request VER != 5
    kBadCommand,         // CMD not CONNECT/BIND/UDP ASSOCIATE
    kBadReserved,        // RSV != 0 (request: 1 byte; UDP header: 2 bytes)
    kBadAddressType,     // ATYP not 1, 3 or 4
    kBadDomain,          // DOMAIN length 0 or a byte outside 0x21..0x7E
    kTruncated,          // UDP datagram ends inside its header
    kFragmented,         // UDP FRAG != 0: fragmentation is not supported (RFC 1928 §7)
};
const char* fault_name(Fault f);
// The REP code for a request fault (RFC 1928 §6): kBadCommand -> 0x07, kBadAddressType -> 0x08,
// anything else malformed -> 0x01 general failure.
Reply reply_for(Fault f);

template <typename T>
using Parsed = proxy::Parsed<T, Fault>;

// --- method negotiation (RFC 1928 §3) ----------------------------------------------------------

struct Greeting {
    std::array<std::uint64_t, 4> offered{};  // bit m set when METHOD m was listed
    bool offers(Method m) const;
};
// NMETHODS = 0 parses as a greeting that offers nothing, so select_method() answers 0xFF.
Parsed<Greeting> parse_greeting(ByteView in);

// With credentials configured only username/password is acceptable; without, only no-auth.
// kNoAcceptable means: send it, then close (RFC 1928 §3).
Method select_method(const Greeting& greeting, bool password_required);
std::array<std::uint8_t, 2> build_method_selection(Method m);

// --- username/password subnegotiation (RFC 1929 §2) -------------------------------------------

struct AuthRequest {
    ByteView username;  // borrowed from the parsed input: valid only as long as it is
    ByteView password;
};
// ULEN and PLEN of 0 are accepted although RFC 1929 says 1..255: curl sends PLEN 0 for a
// user without password. Such requests then simply fail the credential check.
Parsed<AuthRequest> parse_auth_request(ByteView in);
// VER 0x01, STATUS 0x00 success / 0x01 failure. After a failure the server MUST close.
std::array<std::uint8_t, 2> build_auth_status(bool success);

// --- requests and replies (RFC 1928 §4-§6) ----------------------------------------------------

struct Request {
    Command command = Command::kConnect;
    Target target;  // DST.ADDR/DST.PORT; a DOMAIN is kept as sent, even an IP literal
};
Parsed<Request> parse_request(ByteView in);

// VER 5, REP, RSV 0, BND.ADDR (IPv4, IPv6 or domain as in `bound`), BND.PORT.
FixedBytes<kMaxReplySize> build_reply(Reply reply, const Target& bound);
// A failure reply with BND.ADDR 0.0.0.0 and BND.PORT 0, the conventional "no address".
FixedBytes<kMaxReplySize> build_failure_reply(Reply reply);

// --- UDP ASSOCIATE datagrams (RFC 1928 §7) -----------------------------------------------------

struct UdpDatagram {
    Target target;    // DST.ADDR/DST.PORT from the client; the source when built by the server
    ByteView payload; // DATA, borrowed from the datagram
};
// The datagram is complete by nature, so this never returns kNeedMore: a short one is
// kTruncated. `consumed` is the header size.
Parsed<UdpDatagram> parse_udp_datagram(ByteView datagram);
// RSV 0x0000, FRAG 0, ATYP, addr, port: prepend to DATA when relaying a reply to the client.
FixedBytes<kMaxUdpHeaderSize> build_udp_header(const Target& source);

}  // namespace tunless::proxy::socks5
