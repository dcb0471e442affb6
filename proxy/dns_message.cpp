#include "proxy/dns_message.hpp"

#include <algorithm>

namespace tunless::proxy::dns {
namespace {

constexpr std::uint16_t kFlagQr = 0x8000;
constexpr std::uint16_t kFlagTc = 0x0200;
constexpr std::uint16_t kFlagRd = 0x0100;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxChain = 9;  // the question name + up to 8 CNAME targets

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A decoded name in lower-case dotted form (the root is the empty string).
struct NameBuf {
    std::array<char, kMaxNameOctets> chars{};
    std::size_t size = 0;
    std::string_view view() const { return {chars.data(), size}; }
};

// Decodes the name starting at `pos` (RFC 1035 §4.1.4). On success `pos` is just past the name
// as it appears at that place (after the first pointer, if any). Every pointer must point
// strictly before the start of the label run it was reached from, so decoding terminates even
// without the jump cap; the cap bounds the work.
Fault read_name(ByteView msg, std::size_t& pos, NameBuf& out) {
    out.size = 0;
    std::size_t p = pos;
    std::size_t limit = pos;
    std::size_t wire = 1;  // the root label's zero octet
    int jumps = 0;
    bool jumped = false;
    for (;;) {
        if (p >= msg.size()) return Fault::kTooShort;
        const std::uint8_t b = msg[p];
        if ((b & 0xC0) == 0xC0) {
            if (p + 1 >= msg.size()) return Fault::kTooShort;
            const std::size_t target = (std::size_t{b & 0x3Fu} << 8) | msg[p + 1];
            if (target >= limit || ++jumps > kMaxPointerJumps) return Fault::kPointerLoop;
            if (!jumped) pos = p + 2;
            jumped = true;
            p = target;
            limit = target;
            continue;
        }
        if ((b & 0xC0) != 0) return Fault::kBadName;  // 01/10: extended/reserved label types
        if (b == 0) {
            if (!jumped) pos = p + 1;
            return Fault::kNone;
        }
        if (p + 1 + b > msg.size()) return Fault::kTooShort;
        wire += std::size_t{b} + 1;
        if (wire > kMaxNameOctets) return Fault::kBadName;
        if (out.size != 0) out.chars[out.size++] = '.';
        for (std::size_t i = 0; i < b; ++i) {
            const char c = static_cast<char>(msg[p + 1 + i]);
            if (c < 0x21 || c > 0x7E || c == '.') return Fault::kBadName;
            out.chars[out.size++] = lower(c);
        }
        p += 1 + std::size_t{b};
    }
}

bool in_chain(const std::array<NameBuf, kMaxChain>& chain, std::size_t n, std::string_view name) {
    for (std::size_t i = 0; i < n; ++i) {
        if (chain[i].view() == name) return true;
    }
    return false;
}

// RFC 2181 §8: a TTL with the top bit set is treated as zero.
std::uint32_t clean_ttl(std::uint32_t ttl) { return (ttl & 0x80000000u) ? 0 : ttl; }

}  // namespace

const char* fault_name(Fault f) {
    switch (f) {
        case Fault::kNone: return "none";
        case Fault::kTooShort: return "too_short";
        case Fault::kNotResponse: return "not_response";
        case Fault::kIdMismatch: return "id_mismatch";
        case Fault::kQuestionMismatch: return "question_mismatch";
        case Fault::kBadName: return "bad_name";
        case Fault::kPointerLoop: return "pointer_loop";
        case Fault::kTruncated: return "truncated";
        case Fault::kBadRecord: return "bad_record";
    }
    return "?";
}

std::optional<HostName> HostName::parse(std::string_view text) {
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    if (text.empty() || text.size() > kMaxNameOctets - 2) return std::nullopt;  // 253 as text
    HostName h;
    std::size_t label = 0;
    for (char c : text) {
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
        } else {
            c = lower(c);
            if (!host_char(c) || ++label > kMaxLabel) return std::nullopt;
        }
        h.chars_[h.size_++] = c;
    }
    if (label == 0) return std::nullopt;
    return h;
}

FixedBytes<kMaxQuerySize> build_query(std::uint16_t id, const HostName& name, RecordType type) {
    FixedBytes<kMaxQuerySize> out;
    out.append_be16(id);
    out.append_be16(kFlagRd);
    out.append_be16(1);  // QDCOUNT
    out.append_be16(0);
    out.append_be16(0);
    out.append_be16(0);
    const std::string_view text = name.view();
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t dot = text.find('.', start);
        if (dot == std::string_view::npos) dot = text.size();
        out.push(static_cast<std::uint8_t>(dot - start));
        for (std::size_t i = start; i < dot; ++i) out.push(static_cast<std::uint8_t>(text[i]));
        start = dot + 1;
    }
    out.push(0);
    out.append_be16(static_cast<std::uint16_t>(type));
    out.append_be16(kClassIn);
    return out;
}

ParseResult parse_response(ByteView msg, std::uint16_t id, const HostName& name, RecordType type) {
    ParseResult r;
    auto failed = [&r](Fault f) {
        r.fault = f;
        return r;
    };
    if (msg.size() < kHeaderSize) return failed(Fault::kTooShort);
    const std::uint16_t flags = load_be16(&msg[2]);
    if ((flags & kFlagQr) == 0 || ((flags >> 11) & 0xF) != 0) return failed(Fault::kNotResponse);
    if (load_be16(&msg[0]) != id) return failed(Fault::kIdMismatch);
    if (load_be16(&msg[4]) != 1) return failed(Fault::kQuestionMismatch);
    const std::uint16_t answers = load_be16(&msg[6]);

    std::array<NameBuf, kMaxChain> chain{};
    std::size_t pos = kHeaderSize;
    if (Fault f = read_name(msg, pos, chain[0]); f != Fault::kNone) return failed(f);
    if (pos + 4 > msg.size()) return failed(Fault::kTooShort);
    if (chain[0].view() != name.view() ||
        load_be16(&msg[pos]) != static_cast<std::uint16_t>(type) ||
        load_be16(&msg[pos + 2]) != kClassIn) {
        return failed(Fault::kQuestionMismatch);
    }
    pos += 4;
    if (flags & kFlagTc) return failed(Fault::kTruncated);
    r.response.rcode = static_cast<std::uint8_t>(flags & 0xF);
    if (r.response.rcode != 0) return r;

    std::size_t chain_size = 1;
    std::uint32_t ttl = UINT32_MAX;
    NameBuf owner;
    for (std::uint16_t i = 0; i < answers; ++i) {
        if (Fault f = read_name(msg, pos, owner); f != Fault::kNone) return failed(f);
        if (pos + 10 > msg.size()) return failed(Fault::kTooShort);
        const std::uint16_t rtype = load_be16(&msg[pos]);
        const std::uint16_t rclass = load_be16(&msg[pos + 2]);
        const std::uint32_t rttl = clean_ttl(load_be32(&msg[pos + 4]));
        const std::size_t rdlen = load_be16(&msg[pos + 8]);
        const std::size_t rdata = pos + 10;
        if (rdata + rdlen > msg.size()) return failed(Fault::kTooShort);
        pos = rdata + rdlen;
        if (rclass != kClassIn || !in_chain(chain, chain_size, owner.view())) continue;
        if (rtype == static_cast<std::uint16_t>(RecordType::kCname) && chain_size < kMaxChain) {
            std::size_t p = rdata;
            if (Fault f = read_name(msg, p, chain[chain_size]); f != Fault::kNone) return failed(f);
            if (p > rdata + rdlen) return failed(Fault::kBadRecord);
            ++chain_size;
            ttl = std::min(ttl, rttl);
        } else if (rtype == static_cast<std::uint16_t>(type)) {
            const std::size_t want = type == RecordType::kA ? 4 : 16;
            if (rdlen != want) return failed(Fault::kBadRecord);
            auto& out = r.response;
            if (out.address_count < kMaxAddresses) {
                out.addresses[out.address_count++] =
                    want == 4 ? IpAddress::v4_bytes(&msg[rdata]) : IpAddress::v6_bytes(&msg[rdata]);
            }
            ttl = std::min(ttl, rttl);
        }
    }
    r.response.ttl_s = r.response.address_count == 0 ? 0 : ttl;
    return r;
}

}  // namespace tunless::proxy::dns
