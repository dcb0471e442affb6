#include <algorithm>
#include <utility>

#include "core/config/sections.hpp"
#include "core/config/values.hpp"

namespace tunless::cfg::detail {
namespace {

constexpr std::uint64_t kMaxConnectionsLimit = 1'000'000;
constexpr std::uint64_t kMaxInactivitySeconds = 7 * 24 * 3600;

// Each key of a listener section: whether this section has it, and how to apply it.
bool known(const ListenerFields& f, std::string_view key_lc) {
    return (key_lc == "bindaddress" && f.bind) || (key_lc == "listenport" && f.listen_port) ||
           (key_lc == "target" && f.target) ||
           ((key_lc == "username" || key_lc == "password") && f.username) ||
           (key_lc == "inactivitytimeout" && f.inactivity_timeout_s) ||
           (key_lc == "maxconnections" && f.max_connections) ||
           (key_lc == "proxyprotocol" && f.proxy_protocol);
}

Status apply(const ListenerFields& f, const KeyLine& k) {
    if (k.key_lc == "bindaddress") {
        auto b = parse_bind_address(k.value);
        if (!b) {
            return b.error();
        }
        *f.bind = *b;
    } else if (k.key_lc == "listenport") {
        auto p = parse_port(k.value, false);
        if (!p) {
            return p.error();
        }
        *f.listen_port = *p;
    } else if (k.key_lc == "target") {
        auto t = parse_named_endpoint(k.value);
        if (!t) {
            return t.error();
        }
        *f.target = *t;
    } else if (k.key_lc == "username" || k.key_lc == "password") {
        const bool user = k.key_lc == "username";
        if (Status st = check_credential(k.value, user); !st) {
            return st;
        }
        *(user ? f.username : f.password) = std::string(k.value);
    } else if (k.key_lc == "proxyprotocol") {
        if (k.value != "true" && k.value != "false") {
            return fail(Errc::kInvalidArgument, "expected true or false");
        }
        *f.proxy_protocol = k.value == "true";
    } else {
        const bool inactivity = k.key_lc == "inactivitytimeout";
        auto v = parse_uint(k.value, inactivity ? kMaxInactivitySeconds : kMaxConnectionsLimit);
        if (!v) {
            return v.error();
        }
        *(inactivity ? f.inactivity_timeout_s : f.max_connections) = static_cast<std::uint32_t>(*v);
    }
    return {};
}

struct Bound {
    Endpoint bind;
    const char* section;
    int line;
};

void check_unique_binds(Diagnostics& d, std::vector<Bound> binds, const char* what) {
    std::stable_sort(binds.begin(), binds.end(),
                     [](const Bound& a, const Bound& b) { return a.line < b.line; });
    for (std::size_t i = 0; i < binds.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (binds[i].bind == binds[j].bind && binds[i].bind.port != 0) {
                d.error(binds[i].line, std::string(what) + " " + binds[i].bind.to_string() +
                                           " is already used by [" + binds[j].section +
                                           "] at line " + std::to_string(binds[j].line));
                break;
            }
        }
    }
}

template <typename T>
void check_unique_ports(Diagnostics& d, const std::vector<T>& tunnels, const char* section) {
    for (std::size_t i = 0; i < tunnels.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (tunnels[i].listen_port == tunnels[j].listen_port) {
                d.error(tunnels[i].line, "ListenPort " + std::to_string(tunnels[i].listen_port) +
                                             " is already used by [" + section + "] at line " +
                                             std::to_string(tunnels[j].line));
                break;
            }
        }
    }
}

}  // namespace

ListenerFields fields_of(ProxyListener& p) {
    ListenerFields f;
    f.bind = &p.bind;
    f.username = &p.username;
    f.password = &p.password;
    f.max_connections = &p.max_connections;
    return f;
}

ListenerFields fields_of(TcpClientTunnel& t) {
    ListenerFields f;
    f.bind = &t.bind;
    f.target = &t.target;
    f.max_connections = &t.max_connections;
    return f;
}

ListenerFields fields_of(TcpServerTunnel& t) {
    ListenerFields f;
    f.listen_port = &t.listen_port;
    f.target = &t.target;
    f.max_connections = &t.max_connections;
    f.proxy_protocol = &t.proxy_protocol;
    return f;
}

ListenerFields fields_of(UdpProxyTunnel& t) {
    ListenerFields f;
    f.bind = &t.bind;
    f.target = &t.target;
    f.inactivity_timeout_s = &t.inactivity_timeout_s;
    f.max_connections = &t.max_connections;
    return f;
}

ListenerFields fields_of(UdpServerTunnel& t) {
    ListenerFields f;
    f.listen_port = &t.listen_port;
    f.target = &t.target;
    f.inactivity_timeout_s = &t.inactivity_timeout_s;
    f.max_connections = &t.max_connections;
    return f;
}

void listener_key(Diagnostics& d, Section& s, const ListenerFields& f, const KeyLine& k) {
    if (!known(f, k.key_lc)) {
        std::string hint;
        if (k.key_lc == "certfile" || k.key_lc == "keyfile") {
            hint = " (an HTTPS proxy listener is not supported)";
        }
        d.error(k.line, "unknown key '" + std::string(k.key) + "' in [" + s.name + "]" + hint);
        return;
    }
    if (!s.first_use(k, d)) {
        return;
    }
    if (Status st = apply(f, k); !st) {
        d.error(k.line, std::string(k.key) + ": " + st.error().message);
    }
}

void listener_finish(Diagnostics& d, const Section& s, const ListenerFields& f) {
    const std::pair<bool, const char*> required[] = {
        {f.bind != nullptr, "bindaddress"},
        {f.listen_port != nullptr, "listenport"},
        {f.target != nullptr, "target"},
    };
    static constexpr const char* kDisplay[] = {"BindAddress", "ListenPort", "Target"};
    for (std::size_t i = 0; i < 3; ++i) {
        if (required[i].first && !s.has(required[i].second)) {
            d.error(s.line, "[" + s.name + "] needs " + kDisplay[i]);
        }
    }
    if (f.username && s.has("username") != s.has("password")) {
        d.error(s.line, "[" + s.name + "] needs both Username and Password, or neither");
    }
    if (f.username && f.bind && !f.bind->ip.is_loopback() && !s.has("username")) {
        d.warn(s.line, "[" + s.name + "] listens on " + f.bind->to_string() +
                           " without authentication: anyone who can reach it can use the mesh");
    }
}

void check_cross_section(Diagnostics& d, const Config& c) {
    for (std::size_t i = 0; i < c.peers.size(); ++i) {
        const PeerEntry& peer = c.peers[i];
        for (std::size_t j = 0; j < i; ++j) {
            const std::string other_line = std::to_string(c.peers[j].line);
            if (peer.public_key == c.peers[j].public_key) {
                d.error(peer.line,
                        "duplicate [Peer]: the peer at line " + other_line + " has this PublicKey");
                break;
            }
            for (const IpPrefix& p : peer.allowed_ips) {
                const auto& other = c.peers[j].allowed_ips;
                if (std::find(other.begin(), other.end(), p) != other.end()) {
                    d.warn(peer.line, "AllowedIPs " + p.to_string() +
                                          " also belongs to the peer at line " + other_line +
                                          "; this later peer gets it (as with wg)");
                }
            }
        }
    }
    std::vector<Bound> tcp;
    for (const auto& p : c.socks5) {
        tcp.push_back({p.bind, "Socks5", p.line});
    }
    for (const auto& p : c.http) {
        tcp.push_back({p.bind, "http", p.line});
    }
    for (const auto& t : c.tcp_client_tunnels) {
        tcp.push_back({t.bind, "TCPClientTunnel", t.line});
    }
    check_unique_binds(d, std::move(tcp), "BindAddress");
    std::vector<Bound> udp;
    for (const auto& t : c.udp_proxy_tunnels) {
        udp.push_back({t.bind, "UDPProxyTunnel", t.line});
    }
    check_unique_binds(d, std::move(udp), "BindAddress");
    check_unique_ports(d, c.tcp_server_tunnels, "TCPServerTunnel");
    check_unique_ports(d, c.udp_server_tunnels, "UDPServerTunnel");
}

}  // namespace tunless::cfg::detail
