#include "proxy/proxy_protocol.hpp"

namespace tunless::proxy::proxy_protocol {
namespace {

constexpr std::size_t kIpv4BlockSize = 2 * 4 + 2 * 2;
constexpr std::size_t kIpv6BlockSize = 2 * 16 + 2 * 2;

// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2); IPv6 addresses are returned unchanged.
IpAddress as_v6(const IpAddress& ip) {
    if (ip.is_v6()) {
        return ip;
    }
    std::uint8_t b[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    for (std::size_t i = 0; i < 4; ++i) {
        b[12 + i] = ip.data()[i];
    }
    return IpAddress::v6_bytes(b);
}

Parsed<Header, Fault> failed(Fault f) {
    Parsed<Header, Fault> p;
    p.progress = Progress::kError;
    p.fault = f;
    return p;
}

// Checks what is present of the 16 fixed bytes, so garbage fails on its first byte.
Fault check_fixed_part(ByteView in) {
    for (std::size_t i = 0; i < kSignature.size() && i < in.size(); ++i) {
        if (in[i] != kSignature[i]) {
            return Fault::kBadSignature;
        }
    }
    if (in.size() > 12) {
        if ((in[12] >> 4) != 0x2) {
            return Fault::kBadVersion;
        }
        if ((in[12] & 0x0F) > 0x1) {
            return Fault::kBadCommand;
        }
    }
    if (in.size() > 13 && ((in[13] >> 4) > 0x3 || (in[13] & 0x0F) > 0x2)) {
        return Fault::kBadFamily;
    }
    return Fault::kNone;
}

}  // namespace

FixedBytes<kMaxEncodedSize> encode_v2(const Addresses& a) {
    const bool v4 = a.source.is_v4() && a.destination.is_v4();
    const bool udp = a.transport == Transport::kUdp;
    FixedBytes<kMaxEncodedSize> out;
    out.append(kSignature);
    out.push(kVersion2Proxy);
    out.push(v4 ? (udp ? kFamilyUdp4 : kFamilyTcp4) : (udp ? kFamilyUdp6 : kFamilyTcp6));
    out.append_be16(static_cast<std::uint16_t>(v4 ? kIpv4BlockSize : kIpv6BlockSize));
    // §2.2 address order: source address, destination address, source port, destination port.
    out.append(v4 ? a.source.bytes() : as_v6(a.source).bytes());
    out.append(v4 ? a.destination.bytes() : as_v6(a.destination).bytes());
    out.append_be16(a.source_port);
    out.append_be16(a.destination_port);
    return out;
}

FixedBytes<kFixedHeaderSize> encode_v2_local() {
    FixedBytes<kFixedHeaderSize> out;
    out.append(kSignature);
    out.push(kVersion2Local);
    out.push(kFamilyUnspec);
    out.append_be16(0);
    return out;
}

Parsed<Header, Fault> decode_v2(ByteView in) {
    if (const Fault f = check_fixed_part(in); f != Fault::kNone) {
        return failed(f);
    }
    if (in.size() < kFixedHeaderSize) {
        return {};
    }
    const std::size_t len = load_be16(in.data() + 14);
    if (len > kMaxDecodedLength) {
        return failed(Fault::kTooLong);
    }
    const std::uint8_t family = in[13];
    const bool v4 = family == kFamilyTcp4 || family == kFamilyUdp4;
    const bool v6 = family == kFamilyTcp6 || family == kFamilyUdp6;
    if ((v4 && len < kIpv4BlockSize) || (v6 && len < kIpv6BlockSize)) {
        return failed(Fault::kShortAddresses);
    }
    if (in.size() < kFixedHeaderSize + len) {
        return {};
    }
    Parsed<Header, Fault> p;
    p.progress = Progress::kDone;
    p.consumed = kFixedHeaderSize + len;
    p.value.is_local = (in[12] & 0x0F) == 0x0;
    // LOCAL: the block is ignored (§2.2). UNSPEC/UNIX carry nothing we represent.
    if (p.value.is_local || (!v4 && !v6)) {
        return p;
    }
    const std::uint8_t* block = in.data() + kFixedHeaderSize;
    const std::size_t addr_size = v4 ? 4 : 16;
    Addresses a;
    a.transport = (family & 0x0F) == 0x2 ? Transport::kUdp : Transport::kTcp;
    a.source = v4 ? IpAddress::v4_bytes(block) : IpAddress::v6_bytes(block);
    a.destination = v4 ? IpAddress::v4_bytes(block + 4) : IpAddress::v6_bytes(block + 16);
    a.source_port = load_be16(block + 2 * addr_size);
    a.destination_port = load_be16(block + 2 * addr_size + 2);
    p.value.addresses = a;
    return p;
}

}  // namespace tunless::proxy::proxy_protocol
