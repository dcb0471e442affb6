// Per-section key handlers and end-of-section checks. Internal to core/config: parser.cpp
// splits lines and tracks the current section, these functions give each key its meaning.
// Every problem is reported through Diagnostics with the line it belongs to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.hpp"
#include "core/config/parser.hpp"

namespace tunless::cfg::detail {

class Diagnostics {
public:
    explicit Diagnostics(std::string_view file) : file_(file) {}
    void error(int line, std::string message);
    void warn(int line, std::string message);
    std::vector<Diagnostic> take_errors();
    std::vector<Diagnostic> take_warnings() { return std::move(warnings_); }
    std::size_t error_count() const { return errors_.size(); }

private:
    std::string file_;
    std::vector<Diagnostic> errors_;
    std::vector<Diagnostic> warnings_;
    std::size_t suppressed_ = 0;
};

// One "Key = Value" line; `value` is trimmed, comment-free and environment-expanded.
struct KeyLine {
    int line = 0;
    std::string_view key;  // as written, for messages
    std::string key_lc;    // lowercase, for matching
    std::string_view value;
};

// The section being filled: its header line, display name and the keys seen so far.
struct Section {
    int line = 0;
    std::string name;                 // canonical spelling, e.g. "Interface", "TCPClientTunnel"
    std::map<std::string, int> seen;  // lowercase key -> first line

    // Records `k`; for a singleton key seen before, reports the duplicate and returns false.
    bool first_use(const KeyLine& k, Diagnostics& d);
    bool has(std::string_view key_lc) const { return seen.count(std::string(key_lc)) != 0; }
};

void interface_key(Diagnostics& d, Section& s, InterfaceConfig& iface, const KeyLine& k);
// End of [Interface]: checks that hold with or without [Tailnet] (MTU vs IPv6).
void interface_finish(Diagnostics& d, const Section& s, const InterfaceConfig& iface);
// End of file without [Tailnet]: PrivateKey (unless optional) and Address are required.
void interface_require(Diagnostics& d, const Section& s, const InterfaceConfig& iface,
                       const ParseOptions& options);
void peer_key(Diagnostics& d, Section& s, PeerEntry& peer, const KeyLine& k);
void peer_finish(Diagnostics& d, const Section& s, const PeerEntry& peer);
// [Tailnet] keys (tailnet_section.cpp), its required ControlURL, and at the end of the file the
// rules for [Interface] and [Peer] next to it. `iface_section` has line 0 when the file has
// no [Interface]; the combination step also applies the tailnet MTU default.
void tailnet_key(Diagnostics& d, Section& s, TailnetConfig& t, const KeyLine& k);
void tailnet_finish(Diagnostics& d, const Section& s);
void tailnet_combine(Diagnostics& d, const Section& iface_section, Config& c);

void resolve_key(Diagnostics& d, Section& s, ResolveStrategy& strategy, const KeyLine& k);
void limits_key(Diagnostics& d, Section& s, LimitsConfig& limits, const KeyLine& k);

// The proxy and tunnel sections share their keys; each struct exposes the ones it has.
struct ListenerFields {
    Endpoint* bind = nullptr;              // BindAddress (required when present)
    std::uint16_t* listen_port = nullptr;  // ListenPort (required when present)
    NamedEndpoint* target = nullptr;       // Target (required when present)
    std::string* username = nullptr;       // Username/Password (both or neither)
    std::string* password = nullptr;
    std::uint32_t* inactivity_timeout_s = nullptr;  // InactivityTimeout
    std::uint32_t* max_connections = nullptr;       // MaxConnections (tunless)
    bool* proxy_protocol = nullptr;                 // ProxyProtocol (tunless, TCPServerTunnel)
};
ListenerFields fields_of(ProxyListener& p);
ListenerFields fields_of(TcpClientTunnel& t);
ListenerFields fields_of(TcpServerTunnel& t);
ListenerFields fields_of(UdpProxyTunnel& t);
ListenerFields fields_of(UdpServerTunnel& t);

void listener_key(Diagnostics& d, Section& s, const ListenerFields& f, const KeyLine& k);
void listener_finish(Diagnostics& d, const Section& s, const ListenerFields& f);

// Checks across sections: unique peer keys, clashing listeners, overlapping AllowedIPs.
void check_cross_section(Diagnostics& d, const Config& c);

}  // namespace tunless::cfg::detail
