// DNS wire codec (RFC 1035 §4) for the proxy's stub resolver: builds one A/AAAA query and
// parses the matching response with strict bounds (every read checked, compression pointers
// must point strictly backwards and are capped, names <= 255 octets). Sans-IO, no allocation on
// the parse path, no EDNS, no DNSSEC. Fuzzed (peer-controlled input: any fault is a named drop).
// Called by proxy::DnsResolver only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "proxy/codec_types.hpp"

namespace tunless::proxy::dns {

enum class RecordType : std::uint16_t {
    kA = 1,
    kCname = 5,
    kAaaa = 28
};  // RFC 1035 §3.2.2, RFC 3596
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameOctets = 255;  // RFC 1035 §2.3.4, wire form
// Largest query: header + name + QTYPE + QCLASS.
inline constexpr std::size_t kMaxQuerySize = kHeaderSize + kMaxNameOctets + 4;
// Without EDNS a UDP response is at most 512 bytes (RFC 1035 §4.2.1); we read up to this many
// (a resolver that ignores the limit still gets parsed as far as the bytes go).
inline constexpr std::size_t kMaxResponseSize = 4096;
// Addresses kept from one response; the rest are ignored.
inline constexpr std::size_t kMaxAddresses = 8;
// Compression pointers followed while decoding one name.
inline constexpr int kMaxPointerJumps = 32;

// Why a response was not accepted (named, counted drops in the resolver).
enum class Fault : std::uint8_t {
    kNone,
    kTooShort,          // shorter than the header, or a record runs past the end
    kNotResponse,       // QR = 0 or OPCODE != 0
    kIdMismatch,        // not the ID we sent
    kQuestionMismatch,  // QDCOUNT != 1 or a different QNAME/QTYPE/QCLASS
    kBadName,           // label type 01/10, name > 255 octets, bad label bytes
    kPointerLoop,       // a compression pointer that does not point strictly backwards, or too many
    kTruncated,         // TC = 1: the answer did not fit (no TCP fallback, RFC 1035 §4.2.1)
    kBadRecord,         // A/AAAA RDLENGTH not 4/16
};
inline constexpr std::size_t kFaultCount = 9;
const char* fault_name(Fault f);

// A host name in the lower-case dotted text form we compare with ("example.com", no trailing
// dot), 1..253 characters of letters, digits, '-' and '_', labels 1..63.
class HostName {
public:
    static std::optional<HostName> parse(std::string_view text);  // accepts one trailing dot
    std::string_view view() const { return {chars_.data(), size_}; }
    bool operator==(const HostName& o) const { return view() == o.view(); }

private:
    std::array<char, kMaxNameOctets> chars_{};
    std::size_t size_ = 0;
};

// Standard query, RD = 1 (we ask a recursive resolver), one question, class IN.
FixedBytes<kMaxQuerySize> build_query(std::uint16_t id, const HostName& name, RecordType type);

enum class Rcode : std::uint8_t { kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3 };

struct Response {
    std::uint8_t rcode = 0;  // RFC 1035 §4.1.1; 3 = NXDOMAIN
    std::array<IpAddress, kMaxAddresses> addresses{};
    std::size_t address_count = 0;
    // Smallest TTL of the records used (CNAMEs on the way and the addresses); 0 if none.
    std::uint32_t ttl_s = 0;
};

struct ParseResult {
    Fault fault = Fault::kNone;
    Response response;
    bool ok() const { return fault == Fault::kNone; }
};

// Accepts only the answer to our own question: ID, QDCOUNT = 1 and the question echoed back.
// Collects `type` records owned by the question name or by a CNAME target reached from it
// (answer section only, in order, CNAME chain of at most 8); other records are skipped.
ParseResult parse_response(ByteView message, std::uint16_t id, const HostName& name,
                           RecordType type);

}  // namespace tunless::proxy::dns
