#include "core/config/parser.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/config/sections.hpp"
#include "core/config/values.hpp"

namespace tunless::cfg {
namespace {

using detail::Diagnostics;
using detail::KeyLine;
using detail::Section;

enum class Kind : std::uint8_t {
    kNone,  // before the first section header
    kSkip,  // inside a section whose keys are ignored (unknown, duplicate or unsupported)
    kInterface,
    kPeer,
    kSocks5,
    kHttp,
    kTcpClientTunnel,
    kTcpServerTunnel,
    kUdpProxyTunnel,
    kUdpServerTunnel,
    kResolve,
    kLimits,
    kTailnet,
};

struct SectionName {
    std::string_view lc;
    std::string_view display;
    Kind kind;
};

constexpr SectionName kSections[] = {
    {"interface", "Interface", Kind::kInterface},
    {"peer", "Peer", Kind::kPeer},
    {"socks5", "Socks5", Kind::kSocks5},
    {"http", "http", Kind::kHttp},
    {"tcpclienttunnel", "TCPClientTunnel", Kind::kTcpClientTunnel},
    {"tcpservertunnel", "TCPServerTunnel", Kind::kTcpServerTunnel},
    {"udpproxytunnel", "UDPProxyTunnel", Kind::kUdpProxyTunnel},
    {"udpservertunnel", "UDPServerTunnel", Kind::kUdpServerTunnel},
    {"resolve", "Resolve", Kind::kResolve},
    {"limits", "Limits", Kind::kLimits},
    {"tailnet", "Tailnet", Kind::kTailnet},
};

// wireproxy sections with no tunless counterpart: accepted so its configs load, with a warning.
constexpr std::string_view kUnsupportedWireproxy[] = {"stdiotunnel", "sni"};

// A line without '=' may still carry a secret ("AuthKey tskey-..."): such lines are not echoed.
bool names_secret(std::string_view text) {
    constexpr std::string_view kSecretKeys[] = {"privatekey", "presharedkey", "authkey",
                                                "password"};
    const std::string lc = detail::to_lower(text.substr(0, 12));
    return std::any_of(std::begin(kSecretKeys), std::end(kSecretKeys),
                       [&lc](std::string_view k) { return lc.rfind(k, 0) == 0; });
}

class Parser {
public:
    Parser(std::string_view file, const ParseOptions& options) : diag_(file), options_(options) {
        config_.file = std::string(file);
    }
    void line(int number, std::string_view raw);
    ParseReport finish();

private:
    void begin_section(int number, std::string_view header);
    void end_section();
    void key_value(int number, std::string_view text);
    bool expand_env(const KeyLine& k, std::string& out);
    detail::ListenerFields current_listener();

    Diagnostics diag_;
    const ParseOptions& options_;
    Config config_;
    Kind kind_ = Kind::kNone;
    Section section_;
    Section interface_section_;  // kept for the end-of-file [Interface]/[Tailnet] rules
    int resolve_line_ = 0;
};

void Parser::line(int number, std::string_view raw) {
    // wg-quick and wg(8) treat '#' as the start of a comment anywhere on a line; INI files
    // (wireproxy) also use ';' comment lines.
    std::string_view text = detail::trim(raw.substr(0, raw.find('#')));
    if (text.empty() || text.front() == ';') {
        return;
    }
    if (text.front() == '[') {
        begin_section(number, text);
    } else {
        key_value(number, text);
    }
}

void Parser::begin_section(int number, std::string_view header) {
    end_section();
    section_ = Section{};
    section_.line = number;
    kind_ = Kind::kSkip;
    if (header.back() != ']') {
        diag_.error(number, "malformed section header '" + std::string(header) + "'");
        return;
    }
    const std::string name(detail::trim(header.substr(1, header.size() - 2)));
    const std::string lc = detail::to_lower(name);
    for (std::string_view u : kUnsupportedWireproxy) {
        if (lc == u) {
            diag_.warn(number,
                       "section [" + name + "] (wireproxy) is not supported by tunless; ignored");
            return;
        }
    }
    const SectionName* found = nullptr;
    for (const SectionName& s : kSections) {
        if (s.lc == lc) {
            found = &s;
            break;
        }
    }
    if (found == nullptr) {
        diag_.error(number, "unknown section [" + name + "]");
        return;
    }
    section_.name = std::string(found->display);
    int* singleton = found->kind == Kind::kInterface ? &interface_section_.line
                     : found->kind == Kind::kResolve ? &resolve_line_
                     : found->kind == Kind::kLimits  ? &config_.limits.line
                     : found->kind == Kind::kTailnet ? &config_.tailnet.line
                                                     : nullptr;
    if (singleton != nullptr && *singleton != 0) {
        diag_.error(number, "duplicate [" + section_.name + "] section (first at line " +
                                std::to_string(*singleton) + ")");
        return;
    }
    if (singleton != nullptr) {
        *singleton = number;
    }
    kind_ = found->kind;
    switch (kind_) {
        case Kind::kInterface: config_.iface.line = number; break;
        case Kind::kPeer: config_.peers.emplace_back().line = number; break;
        case Kind::kSocks5: config_.socks5.emplace_back().line = number; break;
        case Kind::kHttp: config_.http.emplace_back().line = number; break;
        case Kind::kTcpClientTunnel: config_.tcp_client_tunnels.emplace_back().line = number; break;
        case Kind::kTcpServerTunnel: config_.tcp_server_tunnels.emplace_back().line = number; break;
        case Kind::kUdpProxyTunnel: config_.udp_proxy_tunnels.emplace_back().line = number; break;
        case Kind::kUdpServerTunnel: config_.udp_server_tunnels.emplace_back().line = number; break;
        default: break;
    }
}

detail::ListenerFields Parser::current_listener() {
    switch (kind_) {
        case Kind::kSocks5: return detail::fields_of(config_.socks5.back());
        case Kind::kHttp: return detail::fields_of(config_.http.back());
        case Kind::kTcpClientTunnel: return detail::fields_of(config_.tcp_client_tunnels.back());
        case Kind::kTcpServerTunnel: return detail::fields_of(config_.tcp_server_tunnels.back());
        case Kind::kUdpProxyTunnel: return detail::fields_of(config_.udp_proxy_tunnels.back());
        case Kind::kUdpServerTunnel: return detail::fields_of(config_.udp_server_tunnels.back());
        default: return {};
    }
}

void Parser::end_section() {
    switch (kind_) {
        case Kind::kNone:
        case Kind::kSkip:
        case Kind::kResolve:
        case Kind::kLimits: break;
        case Kind::kInterface:
            detail::interface_finish(diag_, section_, config_.iface);
            interface_section_ = section_;
            break;
        case Kind::kTailnet: detail::tailnet_finish(diag_, section_); break;
        case Kind::kPeer: detail::peer_finish(diag_, section_, config_.peers.back()); break;
        default: detail::listener_finish(diag_, section_, current_listener()); break;
    }
    kind_ = Kind::kNone;
}

bool Parser::expand_env(const KeyLine& k, std::string& out) {
    std::string_view v = k.value;
    if (v.size() < 2 || v.front() != '$') {
        out = std::string(v);
        return true;
    }
    if (v[1] == '$') {  // "$$x" is the literal "$x" (wireproxy)
        out = std::string(v.substr(1));
        return true;
    }
    const std::string_view name = v.substr(1);
    auto value = options_.lookup_env ? options_.lookup_env(name) : std::nullopt;
    if (!value) {
        diag_.error(k.line, std::string(k.key) + ": environment variable " + std::string(name) +
                                " is not set");
        return false;
    }
    out = detail::trim(*value);
    return true;
}

void Parser::key_value(int number, std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) {
        diag_.error(number, names_secret(text)
                                ? "expected 'Key = Value' (the line is not shown: it may hold "
                                  "a secret)"
                                : "expected 'Key = Value', got '" + std::string(text) + "'");
        return;
    }
    KeyLine k;
    k.line = number;
    k.key = detail::trim(text.substr(0, eq));
    k.key_lc = detail::to_lower(k.key);
    k.value = detail::trim(text.substr(eq + 1));
    if (kind_ == Kind::kSkip) {
        return;
    }
    if (kind_ == Kind::kNone) {
        diag_.error(number, k.key_lc == "wgconfig"
                                ? "WGConfig (including another file) is not supported; put the "
                                  "[Interface] and [Peer] sections in this file"
                                : "'" + std::string(k.key) + "' is outside of any section");
        return;
    }
    if (k.key.empty()) {
        diag_.error(number, "missing key name before '='");
        return;
    }
    std::string expanded;
    if (!expand_env(k, expanded)) {
        section_.seen.emplace(k.key_lc, number);  // reported; not also "missing"
        return;
    }
    k.value = expanded;
    const bool list_key = k.key_lc == "address" || k.key_lc == "dns" || k.key_lc == "allowedips";
    if (k.value.empty() && !list_key) {
        diag_.error(number, "'" + std::string(k.key) + "' has no value");
        return;
    }
    switch (kind_) {
        case Kind::kInterface: detail::interface_key(diag_, section_, config_.iface, k); break;
        case Kind::kPeer: detail::peer_key(diag_, section_, config_.peers.back(), k); break;
        case Kind::kResolve:
            detail::resolve_key(diag_, section_, config_.resolve_strategy, k);
            break;
        case Kind::kLimits: detail::limits_key(diag_, section_, config_.limits, k); break;
        case Kind::kTailnet: detail::tailnet_key(diag_, section_, config_.tailnet, k); break;
        default: detail::listener_key(diag_, section_, current_listener(), k); break;
    }
}

ParseReport Parser::finish() {
    end_section();
    if (config_.tailnet.enabled()) {
        detail::tailnet_combine(diag_, interface_section_, config_);
    } else if (interface_section_.line == 0) {
        diag_.error(0, "no [Interface] section");
    } else {
        detail::interface_require(diag_, interface_section_, config_.iface, options_);
    }
    if (diag_.error_count() == 0) {
        detail::check_cross_section(diag_, config_);
    }
    ParseReport report;
    report.errors = diag_.take_errors();
    report.warnings = diag_.take_warnings();
    report.config = std::move(config_);
    return report;
}

}  // namespace

std::string Diagnostic::to_string() const {
    if (line <= 0) {
        return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ": " + message;
}

ParseReport parse_report(std::string_view text, std::string_view file,
                         const ParseOptions& options) {
    Parser p(file, options);
    int number = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        p.line(++number, text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return p.finish();
}

Result<Parsed> parse(std::string_view text, std::string_view file, const ParseOptions& options) {
    ParseReport r = parse_report(text, file, options);
    if (!r.ok()) {
        std::string msg;
        for (const Diagnostic& e : r.errors) {
            msg += (msg.empty() ? "" : "\n") + e.to_string();
        }
        return fail(Errc::kInvalidArgument, std::move(msg));
    }
    return Parsed{std::move(r.config), std::move(r.warnings)};
}

}  // namespace tunless::cfg
