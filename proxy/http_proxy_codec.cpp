// Request head parsing for the HTTP proxy: byte scanning (line endings, limits) in
// RequestHeadParser::feed, then one pass over the complete head (request line, request target,
// field lines, framing). Auth, forwarding and responses are in http_proxy_messages.cpp.
#include "proxy/http_proxy_codec.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>

#include "proxy/http_syntax.hpp"

namespace tunless::proxy::http {
namespace {

using namespace syntax;

constexpr std::uint16_t kDefaultHttpPort = 80;

std::optional<std::uint16_t> parse_port(std::string_view s) {
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) {
        return std::nullopt;
    }
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v == 0 || v > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(v);
}

// reg-name restricted to what DNS names use; pct-encoding and sub-delims are refused.
bool is_host_name(std::string_view s) {
    return !s.empty() && s.size() <= DomainName::kMaxLength &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
           });
}

// RFC 3986 §3.2.2-3.2.3 host [":" port]; IPv6 literals in brackets. Without a port the
// default is used unless one is required (authority-form, RFC 9112 §3.2.3).
std::optional<Target> parse_authority(std::string_view text, bool port_required) {
    std::string_view host = text;
    std::string_view rest;
    std::optional<IpAddress> literal;
    if (!text.empty() && text[0] == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        literal = IpAddress::parse(text.substr(1, close - 1));
        if (!literal || !literal->is_v6()) {
            return std::nullopt;
        }
        rest = text.substr(close + 1);
    } else {
        const std::size_t colon = text.find(':');
        host = text.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    }
    std::uint16_t port = kDefaultHttpPort;
    if (!rest.empty() || port_required) {
        const auto p = rest.empty() || rest[0] != ':' ? std::nullopt : parse_port(rest.substr(1));
        if (!p) {
            return std::nullopt;
        }
        port = *p;
    }
    if (literal) {
        return Target::from_ip(*literal, port);
    }
    if (const auto v4 = IpAddress::parse(host); v4 && v4->is_v4()) {
        return Target::from_ip(*v4, port);
    }
    if (!is_host_name(host)) {
        return std::nullopt;
    }
    return Target::from_domain(*DomainName::parse(host), port);
}

// RFC 9112 §2.3 HTTP-version, case-sensitive.
Fault parse_version(std::string_view v, std::uint8_t& minor) {
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' ||
        !is_digit(v[7])) {
        return Fault::kBadRequestLine;
    }
    if (v[5] != '1') {
        return Fault::kUnsupportedVersion;
    }
    // RFC 9110 §6.2: a higher minor version is processed as the highest one we implement.
    minor = v[7] == '0' ? 0 : 1;
    return Fault::kNone;
}

bool is_scheme(std::string_view s) {
    return !s.empty() && is_alpha(s[0]) && std::all_of(s.begin(), s.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
    });
}

// RFC 9112 §3.2: authority-form for CONNECT, absolute-form (http only) for everything else.
Fault parse_target(std::string_view target, RequestHead& head) {
    for (const char c : target) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x21 || b > 0x7E) {
            return Fault::kBadTarget;
        }
    }
    if (head.method == "CONNECT") {
        const auto t = parse_authority(target, true);
        if (!t) {
            return Fault::kBadTarget;
        }
        head.form = RequestForm::kAuthority;
        head.target = *t;
        head.authority = target;
        return Fault::kNone;
    }
    if (target[0] == '/' || target == "*") {
        return Fault::kNotProxyRequest;
    }
    const std::size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos || target.find('#') != std::string_view::npos) {
        return Fault::kBadTarget;
    }
    const std::string_view scheme = target.substr(0, scheme_end);
    if (!iequals(scheme, "http")) {
        return is_scheme(scheme) ? Fault::kUnsupportedScheme : Fault::kBadTarget;
    }
    const std::string_view rest = target.substr(scheme_end + 3);
    const std::size_t authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    // Userinfo is deprecated in http URIs (RFC 9110 §4.2.4) and would leak into logs.
    const auto t = authority.find('@') == std::string_view::npos
                       ? parse_authority(authority, false)
                       : std::nullopt;
    if (!t) {
        return Fault::kBadTarget;
    }
    head.form = RequestForm::kAbsolute;
    head.target = *t;
    head.authority = authority;
    head.path_and_query =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    return Fault::kNone;
}

// RFC 9112 §3: method SP request-target SP HTTP-version, exactly one SP each.
Fault parse_request_line(std::string_view line, RequestHead& head) {
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) {
        return Fault::kBadRequestLine;
    }
    const std::string_view method = line.substr(0, sp1);
    if (!is_token(method)) {
        return Fault::kBadMethod;
    }
    const std::string_view rest = line.substr(sp1 + 1);
    const std::size_t sp2 = rest.find(' ');
    if (sp2 == std::string_view::npos || sp2 == 0) {
        return Fault::kBadRequestLine;
    }
    if (const Fault f = parse_version(rest.substr(sp2 + 1), head.minor_version);
        f != Fault::kNone) {
        return f;
    }
    head.method = method;
    return parse_target(rest.substr(0, sp2), head);
}

// RFC 9112 §5: field-name ":" OWS field-value OWS.
Fault parse_field_line(std::string_view line, RequestHead& head) {
    if (is_ows(line[0])) {
        return Fault::kObsFold;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
        return Fault::kBadFieldName;
    }
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!std::all_of(value.begin(), value.end(), is_field_value_char)) {
        return Fault::kBadFieldValue;
    }
    assert(head.field_count < kMaxHeaderFields);  // the scanner stops at the cap
    head.fields[head.field_count++] = HeaderField{line.substr(0, colon), value};
    return Fault::kNone;
}

std::optional<std::uint64_t> parse_content_length(std::string_view v) {
    // 19 digits always fit in 64 bits; a longer value is a lie or an attack.
    if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), is_digit)) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
}

// Host and framing rules: RFC 9112 §3.2 (Host), §6.1-§6.3 (message body length).
Fault check_fields(RequestHead& head) {
    std::size_t hosts = 0, lengths = 0, encodings = 0, auths = 0;
    std::string_view length_value, encoding_value;
    for (const HeaderField& f : head.header_fields()) {
        if (iequals(f.name, "host")) {
            ++hosts;
        } else if (iequals(f.name, "content-length")) {
            ++lengths;
            length_value = f.value;
        } else if (iequals(f.name, "transfer-encoding")) {
            ++encodings;
            encoding_value = f.value;
        } else if (iequals(f.name, "proxy-authorization")) {
            ++auths;
            head.proxy_authorization = f.value;
        }
    }
    if (hosts > 1) {
        return Fault::kDuplicateHost;
    }
    if (hosts == 0 && head.minor_version == 1) {
        return Fault::kMissingHost;
    }
    if (auths > 1) {
        return Fault::kDuplicateProxyAuthorization;
    }
    if (lengths > 1) {
        return Fault::kDuplicateContentLength;
    }
    if (lengths == 1) {
        const auto n = parse_content_length(length_value);
        if (!n) {
            return Fault::kBadContentLength;
        }
        head.content_length = *n;
    }
    if (encodings > 0) {
        // Both framings at once is the classic smuggling vector: refuse rather than pick one.
        if (head.minor_version == 0 || lengths > 0) {
            return Fault::kBadTransferEncoding;
        }
        if (encodings > 1 || !iequals(encoding_value, "chunked")) {
            return Fault::kUnsupportedTransferEncoding;
        }
    }
    if (head.form == RequestForm::kAuthority) {
        // RFC 9110 §9.3.6: a CONNECT request has no content.
        return encodings > 0 || head.content_length > 0 ? Fault::kConnectWithBody : Fault::kNone;
    }
    head.framing = encodings > 0 ? BodyFraming::kChunked
                   : lengths > 0 ? BodyFraming::kContentLength
                                 : BodyFraming::kNone;
    return Fault::kNone;
}

}  // namespace

std::optional<std::string_view> RequestHead::find(std::string_view name) const {
    for (const HeaderField& f : header_fields()) {
        if (iequals(f.name, name)) {
            return f.value;
        }
    }
    return std::nullopt;
}

RequestHeadParser::Step RequestHeadParser::feed(ByteView chunk) {
    if (progress_ != Progress::kNeedMore) {
        return Step{progress_, 0, fault_};
    }
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        const char c = static_cast<char>(chunk[i]);
        const bool after_cr = size_ > 0 && buf_[size_ - 1] == '\r';
        if (after_cr && c != '\n') {
            return reject(Fault::kBareCr);
        }
        if (c == '\n' && !after_cr) {
            return reject(Fault::kBareLf);
        }
        if (size_ == kMaxHeadSize) {
            return reject(request_line_seen_ ? Fault::kHeadTooLarge : Fault::kRequestLineTooLong);
        }
        buf_[size_++] = c;
        if (c == '\n') {
            Step s = on_line_end();
            if (s.progress != Progress::kNeedMore) {
                s.consumed = i + 1;
                return s;
            }
        }
    }
    return Step{Progress::kNeedMore, chunk.size(), Fault::kNone};
}

void RequestHeadParser::reset() {
    size_ = 0;
    line_start_ = 0;
    head_start_ = 0;
    field_lines_ = 0;
    request_line_seen_ = false;
    progress_ = Progress::kNeedMore;
    fault_ = Fault::kNone;
    head_ = RequestHead{};
}

RequestHeadParser::Step RequestHeadParser::reject(Fault f) {
    progress_ = Progress::kError;
    fault_ = f;
    return Step{progress_, 0, f};
}

RequestHeadParser::Step RequestHeadParser::on_line_end() {
    const std::size_t start = line_start_;
    const bool empty_line = size_ - start == 2;
    line_start_ = size_;
    if (!request_line_seen_) {
        if (!empty_line) {
            request_line_seen_ = true;
        } else if (start == 0) {
            head_start_ = 2;  // RFC 9112 §2.2: ignore one empty line before the request line
        } else {
            return reject(Fault::kBadRequestLine);
        }
        return Step{};
    }
    if (empty_line) {
        const Fault f = parse_head();
        if (f != Fault::kNone) {
            return reject(f);
        }
        progress_ = Progress::kDone;
        return Step{Progress::kDone, 0, Fault::kNone};
    }
    if (++field_lines_ > kMaxHeaderFields) {
        return reject(Fault::kTooManyFields);
    }
    return Step{};
}

Fault RequestHeadParser::parse_head() {
    // Every line here ends in CRLF and holds no other CR or LF (checked while scanning).
    const std::string_view all(buf_.data() + head_start_, size_ - head_start_);
    head_ = RequestHead{};
    std::size_t eol = all.find("\r\n");
    if (const Fault f = parse_request_line(all.substr(0, eol), head_); f != Fault::kNone) {
        return f;
    }
    for (std::size_t pos = eol + 2; (eol = all.find("\r\n", pos)) != pos; pos = eol + 2) {
        if (const Fault f = parse_field_line(all.substr(pos, eol - pos), head_);
            f != Fault::kNone) {
            return f;
        }
    }
    return check_fields(head_);
}

}  // namespace tunless::proxy::http
