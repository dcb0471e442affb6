#include "core/config/sections.hpp"

#include <algorithm>
#include <span>

#include "core/config/values.hpp"

namespace tunless::cfg::detail {
namespace {

// wg-quick keys that configure a kernel interface or run commands: tunless has neither,
// so they are accepted (a wg-quick file works unchanged) but have no effect.
constexpr std::string_view kWgQuickOnly[] = {"table",    "preup",      "postup", "predown",
                                             "postdown", "saveconfig", "fwmark"};
// wireproxy's health-check keys (its --info endpoint), not implemented here.
constexpr std::string_view kWireproxyHealth[] = {"checkalive", "checkaliveinterval"};

constexpr std::uint64_t kMinMtu = 576;     // RFC 791 minimum datagram every host accepts
constexpr std::uint64_t kMinMtuV6 = 1280;  // RFC 8200 §5

bool listed(std::string_view key_lc, std::span<const std::string_view> keys) {
    return std::find(keys.begin(), keys.end(), key_lc) != keys.end();
}

void unknown_key(Diagnostics& d, const Section& s, const KeyLine& k) {
    d.error(k.line, "unknown key '" + std::string(k.key) + "' in [" + s.name + "]");
}

bool is_dns_name(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_';
    });
}

void interface_list_key(Diagnostics& d, InterfaceConfig& iface, const KeyLine& k) {
    for (std::string_view item : split_list(k.value)) {
        if (k.key_lc == "address") {
            auto a = parse_interface_address(item);
            if (!a) {
                d.error(k.line, "Address: " + a.error().message);
            } else if (std::find(iface.addresses.begin(), iface.addresses.end(), *a) ==
                       iface.addresses.end()) {
                iface.addresses.push_back(*a);
            }
        } else if (auto ip = IpAddress::parse(item)) {
            iface.dns.push_back(*ip);
        } else if (is_dns_name(item)) {
            iface.dns_search.emplace_back(item);  // wg-quick: non-IP entries are search domains
        } else {
            d.error(k.line,
                    "DNS: '" + std::string(item) + "' is neither an IP address nor a domain");
        }
    }
}

}  // namespace

void Diagnostics::error(int line, std::string message) {
    if (errors_.size() >= kMaxErrors - 1) {
        ++suppressed_;
        return;
    }
    errors_.push_back(Diagnostic{file_, line, std::move(message)});
}

void Diagnostics::warn(int line, std::string message) {
    warnings_.push_back(Diagnostic{file_, line, std::move(message)});
}

std::vector<Diagnostic> Diagnostics::take_errors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    if (suppressed_ > 0) {
        errors_.push_back(
            Diagnostic{file_, 0, std::to_string(suppressed_) + " more errors not shown"});
    }
    return std::move(errors_);
}

bool Section::first_use(const KeyLine& k, Diagnostics& d) {
    auto [it, inserted] = seen.emplace(k.key_lc, k.line);
    if (!inserted) {
        d.error(k.line, "duplicate key '" + std::string(k.key) + "' in [" + name +
                            "] (first set at line " + std::to_string(it->second) + ")");
    }
    return inserted;
}

void interface_key(Diagnostics& d, Section& s, InterfaceConfig& iface, const KeyLine& k) {
    if (k.key_lc == "address" || k.key_lc == "dns") {
        s.seen.emplace(k.key_lc, k.line);  // repeatable
        interface_list_key(d, iface, k);
        return;
    }
    if (listed(k.key_lc, kWgQuickOnly)) {
        d.warn(k.line,
               "'" + std::string(k.key) +
                   "' is a wg-quick setting for a kernel interface; tunless has none, ignored");
        return;
    }
    if (listed(k.key_lc, kWireproxyHealth)) {
        d.warn(k.line,
               "'" + std::string(k.key) + "' (wireproxy health check) is not supported, ignored");
        return;
    }
    if (k.key_lc != "privatekey" && k.key_lc != "listenport" && k.key_lc != "mtu") {
        unknown_key(d, s, k);
        return;
    }
    if (!s.first_use(k, d)) {
        return;
    }
    if (k.key_lc == "privatekey") {
        auto key = parse_key(k.value);
        if (!key) {
            d.error(k.line, "PrivateKey: " + key.error().message);
            return;
        }
        iface.private_key.emplace(ByteView(key->data(), key->size()));
    } else if (k.key_lc == "listenport") {
        auto port = parse_port(k.value, true);
        if (!port) {
            d.error(k.line, "ListenPort: " + port.error().message);
            return;
        }
        iface.listen_port = *port;
    } else {
        auto mtu = parse_uint(k.value, 65535);
        if (!mtu || *mtu < kMinMtu) {
            d.error(k.line, "MTU: must be a number from " + std::to_string(kMinMtu) + " to 65535");
            return;
        }
        iface.mtu = static_cast<std::uint16_t>(*mtu);
    }
}

void interface_finish(Diagnostics& d, const Section& s, const InterfaceConfig& iface) {
    const bool has_v6 = std::any_of(iface.addresses.begin(), iface.addresses.end(),
                                    [](const InterfaceAddress& a) { return a.address.is_v6(); });
    if (has_v6 && iface.mtu < kMinMtuV6) {
        d.error(s.seen.count("mtu") ? s.seen.at("mtu") : s.line,
                "MTU: IPv6 needs at least 1280 (RFC 8200 §5)");
    }
}

void interface_require(Diagnostics& d, const Section& s, const InterfaceConfig& iface,
                       const ParseOptions& options) {
    if (!iface.private_key && options.require_private_key && !s.has("privatekey")) {
        d.error(s.line, "[Interface] has no PrivateKey (generate one with `tunless genkey`)");
    }
    if (iface.addresses.empty()) {
        d.error(s.line, "[Interface] needs at least one Address (e.g. Address = 10.0.0.2/24)");
    }
}

void peer_key(Diagnostics& d, Section& s, PeerEntry& peer, const KeyLine& k) {
    if (k.key_lc == "allowedips") {
        s.seen.emplace(k.key_lc, k.line);  // repeatable
        for (std::string_view item : split_list(k.value)) {
            auto p = parse_allowed_ip(item);
            if (!p) {
                d.error(k.line, "AllowedIPs: " + p.error().message);
                continue;
            }
            peer.allowed_ips.push_back(*p);
        }
        return;
    }
    if (k.key_lc != "publickey" && k.key_lc != "presharedkey" && k.key_lc != "endpoint" &&
        k.key_lc != "persistentkeepalive") {
        unknown_key(d, s, k);
        return;
    }
    if (!s.first_use(k, d)) {
        return;
    }
    if (k.key_lc == "publickey" || k.key_lc == "presharedkey") {
        auto key = parse_key(k.value);
        if (!key) {
            d.error(k.line,
                    std::string(k.key_lc == "publickey" ? "PublicKey: " : "PresharedKey: ") +
                        key.error().message);
        } else if (k.key_lc == "publickey") {
            peer.public_key.bytes = *key;
        } else {
            peer.preshared_key.emplace(ByteView(key->data(), key->size()));
        }
    } else if (k.key_lc == "endpoint") {
        auto ep = parse_named_endpoint(k.value);
        if (!ep) {
            d.error(k.line, "Endpoint: " + ep.error().message);
            return;
        }
        peer.endpoint = *ep;
    } else {
        auto ka = parse_keepalive(k.value);
        if (!ka) {
            d.error(k.line, "PersistentKeepalive: " + ka.error().message);
            return;
        }
        peer.persistent_keepalive = *ka;
    }
}

void peer_finish(Diagnostics& d, const Section& s, const PeerEntry&) {
    if (!s.has("publickey")) {
        d.error(s.line, "[Peer] has no PublicKey");
    }
}

void resolve_key(Diagnostics& d, Section& s, ResolveStrategy& strategy, const KeyLine& k) {
    if (k.key_lc != "resolvestrategy") {
        unknown_key(d, s, k);
        return;
    }
    if (!s.first_use(k, d)) {
        return;
    }
    const std::string v = to_lower(k.value);
    if (v == "auto") {
        strategy = ResolveStrategy::kAuto;
    } else if (v == "ipv4") {
        strategy = ResolveStrategy::kIpv4;
    } else if (v == "ipv6") {
        strategy = ResolveStrategy::kIpv6;
    } else {
        d.error(k.line, "ResolveStrategy: must be auto, ipv4 or ipv6");
    }
}

// Upper bounds: lwIP hands out local ports for outbound connections from 49152-65535
// (TCP_LOCAL_PORT_RANGE_START), so more than 16384 mesh connections cannot all be dialled; a
// stack budget beyond 4 GiB is no longer a limit on the devices tunless targets.
constexpr std::uint64_t kMaxTcpConnectionsLimit = 16384;
constexpr std::uint64_t kMaxStackMemoryMib = 4096;

void limits_key(Diagnostics& d, Section& s, LimitsConfig& limits, const KeyLine& k) {
    const bool connections = k.key_lc == "maxtcpconnections";
    if (!connections && k.key_lc != "stackmemorymib") {
        unknown_key(d, s, k);
        return;
    }
    if (!s.first_use(k, d)) {
        return;
    }
    auto v = parse_uint(k.value, connections ? kMaxTcpConnectionsLimit : kMaxStackMemoryMib);
    if (!v) {
        d.error(k.line, std::string(k.key) + ": " + v.error().message);
        return;
    }
    (connections ? limits.max_tcp_connections : limits.stack_memory_mib) =
        static_cast<std::uint32_t>(*v);
}

}  // namespace tunless::cfg::detail
