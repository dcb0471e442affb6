// PROXY protocol version 2 (haproxy doc/proxy-protocol.txt §2.2): the binary header an inbound
// forward sends first on its connection to a local service, so the service learns which mesh
// peer (source) connected to which mesh address (destination). Encoder for the forwards; a
// strict decoder for tests and fuzzing (we never accept PROXY headers from the network).
// No TLVs are emitted; the decoder skips them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "proxy/codec_types.hpp"

namespace tunless::proxy::proxy_protocol {

inline constexpr std::array<std::uint8_t, 12> kSignature = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
inline constexpr std::size_t kFixedHeaderSize = 16;     // signature, ver_cmd, fam, len
inline constexpr std::size_t kMaxEncodedSize = 16 + 36;  // with the IPv6 address block
// The decoder refuses a longer address block + TLV area (the spec allows 65535).
inline constexpr std::size_t kMaxDecodedLength = 512;

inline constexpr std::uint8_t kVersion2Local = 0x20;  // ver_cmd: version 2, LOCAL
inline constexpr std::uint8_t kVersion2Proxy = 0x21;  // ver_cmd: version 2, PROXY
inline constexpr std::uint8_t kFamilyUnspec = 0x00;
inline constexpr std::uint8_t kFamilyTcp4 = 0x11;
inline constexpr std::uint8_t kFamilyUdp4 = 0x12;
inline constexpr std::uint8_t kFamilyTcp6 = 0x21;
inline constexpr std::uint8_t kFamilyUdp6 = 0x22;

enum class Transport : std::uint8_t { kTcp, kUdp };

struct Addresses {
    Transport transport = Transport::kTcp;
    IpAddress source;  // the mesh peer
    std::uint16_t source_port = 0;
    IpAddress destination;  // our mesh address it connected to
    std::uint16_t destination_port = 0;

    bool operator==(const Addresses&) const = default;
};

// PROXY command with TCP4/UDP4 (12-byte block) or TCP6/UDP6 (36-byte block). One header
// carries one family, so a v4/v6 mix is sent as TCP6/UDP6 with the IPv4 side v4-mapped.
FixedBytes<kMaxEncodedSize> encode_v2(const Addresses& addresses);
// LOCAL command, AF_UNSPEC, length 0: "not relayed, use the real endpoints".
FixedBytes<kFixedHeaderSize> encode_v2_local();

enum class Fault : std::uint8_t {
    kNone,
    kBadSignature,    // not the 12-byte v2 signature (a v1 "PROXY ..." line included)
    kBadVersion,      // high nibble of ver_cmd != 2
    kBadCommand,      // low nibble of ver_cmd not LOCAL/PROXY
    kBadFamily,       // unassigned family or transport nibble
    kShortAddresses,  // len smaller than the family's address block
    kTooLong,         // len > kMaxDecodedLength
};

struct Header {
    bool is_local = false;
    // PROXY over TCP/UDP on IPv4/IPv6; empty for LOCAL, AF_UNSPEC and AF_UNIX.
    std::optional<Addresses> addresses;
};

// Prefix parser: kNeedMore until 16 + len bytes are present; `consumed` = 16 + len.
Parsed<Header, Fault> decode_v2(ByteView in);

}  // namespace tunless::proxy::proxy_protocol
