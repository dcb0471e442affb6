#include "proxy/socks5_codec.hpp"

#include <string_view>

namespace tunless::proxy::socks5 {
namespace {

template <typename T>
Parsed<T> need_more() {
    return Parsed<T>{};
}

template <typename T>
Parsed<T> failed(Fault f) {
    Parsed<T> p;
    p.progress = Progress::kError;
    p.fault = f;
    return p;
}

template <typename T>
Parsed<T> done(std::size_t consumed, T value) {
    Parsed<T> p;
    p.progress = Progress::kDone;
    p.consumed = consumed;
    p.value = value;
    return p;
}

bool is_domain_byte(std::uint8_t b) { return b >= 0x21 && b <= 0x7E; }

// ATYP, address and port starting at in[at] (RFC 1928 §4/§5). `end` is one past the port.
struct AddressParse {
    Progress progress = Progress::kNeedMore;
    Fault fault = Fault::kNone;
    Target target;
    std::size_t end = 0;
};

AddressParse address_error(Fault f) {
    AddressParse a;
    a.progress = Progress::kError;
    a.fault = f;
    return a;
}

// Checks the DOMAIN bytes already present, so a bad byte fails before the rest arrives.
AddressParse parse_domain(ByteView in, std::size_t at) {
    if (in.size() < at + 2) {
        return {};
    }
    const std::size_t len = in[at + 1];
    if (len == 0) {
        return address_error(Fault::kBadDomain);
    }
    const std::size_t name_at = at + 2;
    const std::size_t present = in.size() < name_at + len ? in.size() - name_at : len;
    for (std::size_t i = 0; i < present; ++i) {
        if (!is_domain_byte(in[name_at + i])) {
            return address_error(Fault::kBadDomain);
        }
    }
    AddressParse a;
    a.end = name_at + len + 2;
    if (in.size() < a.end) {
        return a;
    }
    const std::string_view text(reinterpret_cast<const char*>(in.data() + name_at), len);
    a.target = Target::from_domain(*DomainName::parse(text), load_be16(in.data() + name_at + len));
    a.progress = Progress::kDone;
    return a;
}

AddressParse parse_address(ByteView in, std::size_t at) {
    if (in.size() <= at) {
        return {};
    }
    const auto type = static_cast<AddressType>(in[at]);
    if (type == AddressType::kDomain) {
        return parse_domain(in, at);
    }
    if (type != AddressType::kIpv4 && type != AddressType::kIpv6) {
        return address_error(Fault::kBadAddressType);
    }
    const std::size_t addr_len = type == AddressType::kIpv4 ? 4 : 16;
    AddressParse a;
    a.end = at + 1 + addr_len + 2;
    if (in.size() < a.end) {
        return a;
    }
    const std::uint8_t* addr = in.data() + at + 1;
    const IpAddress ip = addr_len == 4 ? IpAddress::v4_bytes(addr) : IpAddress::v6_bytes(addr);
    a.target = Target::from_ip(ip, load_be16(addr + addr_len));
    a.progress = Progress::kDone;
    return a;
}

template <std::size_t N>
void append_address(FixedBytes<N>& out, const Target& t) {
    if (t.is_domain()) {
        const std::string_view name = t.domain.view();
        out.push(static_cast<std::uint8_t>(AddressType::kDomain));
        out.push(static_cast<std::uint8_t>(name.size()));
        out.append({reinterpret_cast<const std::uint8_t*>(name.data()), name.size()});
    } else {
        const auto type = t.ip.is_v4() ? AddressType::kIpv4 : AddressType::kIpv6;
        out.push(static_cast<std::uint8_t>(type));
        out.append(t.ip.bytes());
    }
    out.append_be16(t.port);
}

}  // namespace

const char* fault_name(Fault f) {
    switch (f) {
        case Fault::kNone: return "none";
        case Fault::kBadVersion: return "bad_version";
        case Fault::kBadAuthVersion: return "bad_auth_version";
        case Fault::kBadRequestVersion: return "bad_request_version";
        case Fault::kBadCommand: return "bad_command";
        case Fault::kBadReserved: return "bad_reserved";
        case Fault::kBadAddressType: return "bad_address_type";
        case Fault::kBadDomain: return "bad_domain";
        case Fault::kTruncated: return "truncated";
        case Fault::kFragmented: return "fragmented";
    }
    return "unknown";
}

Reply reply_for(Fault f) {
    switch (f) {
        case Fault::kBadCommand: return Reply::kCommandNotSupported;
        case Fault::kBadAddressType: return Reply::kAddressTypeNotSupported;
        default: return Reply::kGeneralFailure;
    }
}

bool Greeting::offers(Method m) const {
    const auto bit = static_cast<unsigned>(m);
    return ((offered[bit / 64] >> (bit % 64)) & 1U) != 0;
}

Parsed<Greeting> parse_greeting(ByteView in) {
    if (in.empty()) {
        return need_more<Greeting>();
    }
    if (in[0] != kVersion) {
        return failed<Greeting>(Fault::kBadVersion);
    }
    if (in.size() < 2 || in.size() < 2 + std::size_t{in[1]}) {
        return need_more<Greeting>();
    }
    Greeting g;
    for (const std::uint8_t m : in.subspan(2, in[1])) {
        g.offered[m / 64] |= std::uint64_t{1} << (m % 64);
    }
    return done(2 + std::size_t{in[1]}, g);
}

Method select_method(const Greeting& greeting, bool password_required) {
    const Method wanted = password_required ? Method::kUserPass : Method::kNoAuth;
    return greeting.offers(wanted) ? wanted : Method::kNoAcceptable;
}

std::array<std::uint8_t, 2> build_method_selection(Method m) {
    return {kVersion, static_cast<std::uint8_t>(m)};
}

Parsed<AuthRequest> parse_auth_request(ByteView in) {
    if (in.empty()) {
        return need_more<AuthRequest>();
    }
    if (in[0] != kAuthVersion) {
        return failed<AuthRequest>(Fault::kBadAuthVersion);
    }
    if (in.size() < 2) {
        return need_more<AuthRequest>();
    }
    const std::size_t ulen = in[1];
    if (in.size() < 3 + ulen) {
        return need_more<AuthRequest>();
    }
    const std::size_t plen = in[2 + ulen];
    if (in.size() < 3 + ulen + plen) {
        return need_more<AuthRequest>();
    }
    AuthRequest r;
    r.username = in.subspan(2, ulen);
    r.password = in.subspan(3 + ulen, plen);
    return done(3 + ulen + plen, r);
}

std::array<std::uint8_t, 2> build_auth_status(bool success) {
    return {kAuthVersion, static_cast<std::uint8_t>(success ? 0x00 : 0x01)};
}

Parsed<Request> parse_request(ByteView in) {
    if (in.empty()) {
        return need_more<Request>();
    }
    if (in[0] != kVersion) {
        return failed<Request>(Fault::kBadRequestVersion);
    }
    if (in.size() < 2) {
        return need_more<Request>();
    }
    const auto cmd = static_cast<Command>(in[1]);
    if (cmd != Command::kConnect && cmd != Command::kBind && cmd != Command::kUdpAssociate) {
        return failed<Request>(Fault::kBadCommand);
    }
    if (in.size() < 3) {
        return need_more<Request>();
    }
    if (in[2] != 0x00) {
        return failed<Request>(Fault::kBadReserved);
    }
    const AddressParse a = parse_address(in, 3);
    if (a.progress != Progress::kDone) {
        return a.progress == Progress::kError ? failed<Request>(a.fault) : need_more<Request>();
    }
    return done(a.end, Request{cmd, a.target});
}

FixedBytes<kMaxReplySize> build_reply(Reply reply, const Target& bound) {
    FixedBytes<kMaxReplySize> out;
    out.push(kVersion);
    out.push(static_cast<std::uint8_t>(reply));
    out.push(0x00);
    append_address(out, bound);
    return out;
}

FixedBytes<kMaxReplySize> build_failure_reply(Reply reply) {
    return build_reply(reply, Target::from_ip(IpAddress{}, 0));
}

Parsed<UdpDatagram> parse_udp_datagram(ByteView datagram) {
    // Check the fixed fields that are present before declaring the datagram short, so the
    // counters say "fragmented" rather than "truncated" for a 3-byte fragment.
    for (std::size_t i = 0; i < 2 && i < datagram.size(); ++i) {
        if (datagram[i] != 0x00) {
            return failed<UdpDatagram>(Fault::kBadReserved);
        }
    }
    if (datagram.size() >= 3 && datagram[2] != 0x00) {
        return failed<UdpDatagram>(Fault::kFragmented);
    }
    const AddressParse a = parse_address(datagram, 3);
    if (a.progress == Progress::kError) {
        return failed<UdpDatagram>(a.fault);
    }
    if (a.progress == Progress::kNeedMore) {
        return failed<UdpDatagram>(Fault::kTruncated);
    }
    return done(a.end, UdpDatagram{a.target, datagram.subspan(a.end)});
}

FixedBytes<kMaxUdpHeaderSize> build_udp_header(const Target& source) {
    FixedBytes<kMaxUdpHeaderSize> out;
    out.push(0x00);  // RSV
    out.push(0x00);
    out.push(0x00);  // FRAG: always a standalone datagram
    append_address(out, source);
    return out;
}

}  // namespace tunless::proxy::socks5
