#include <string>

#include "core/config/config.hpp"

namespace tunless::cfg {
namespace {

void line(std::string& out, std::string_view key, const std::string& value) {
    out.append(key).append(" = ");
    if (value.size() >= 2 && value.front() == '$') {
        out += '$';  // "$x" was written "$$x": keep it from reading as an environment lookup
    }
    out.append(value).append("\n");
}

template <typename T, typename F>
std::string join(const std::vector<T>& items, F&& to_text) {
    std::string out;
    for (const T& item : items) {
        out += (out.empty() ? "" : ", ") + to_text(item);
    }
    return out;
}

void credentials_and_limit(std::string& out, const std::string& user, const std::string& pass,
                           std::uint32_t max_connections) {
    if (!user.empty()) {
        line(out, "Username", user);
        line(out, "Password", pass);
    }
    if (max_connections != 0) {
        line(out, "MaxConnections", std::to_string(max_connections));
    }
}

// With [Tailnet] the section has no PrivateKey/Address and is left out when it would be empty.
void interface_section(std::string& out, const InterfaceConfig& i, bool tailnet) {
    const std::uint16_t default_mtu = tailnet ? kTailnetMtu : kDefaultMtu;
    if (tailnet && i.listen_port == 0 && i.mtu == default_mtu && i.dns.empty() &&
        i.dns_search.empty()) {
        return;
    }
    out += "[Interface]\n";
    if (i.private_key && !tailnet) {
        line(out, "PrivateKey", crypto::key_to_base64(i.private_key->view()));
    }
    if (!tailnet) {
        line(out, "Address",
             join(i.addresses, [](const InterfaceAddress& a) { return a.to_string(); }));
    }
    if (i.listen_port != 0) {
        line(out, "ListenPort", std::to_string(i.listen_port));
    }
    if (i.mtu != default_mtu) {
        line(out, "MTU", std::to_string(i.mtu));
    }
    if (!i.dns.empty() || !i.dns_search.empty()) {
        std::string dns = join(i.dns, [](const IpAddress& a) { return a.to_string(); });
        for (const std::string& d : i.dns_search) {
            dns += (dns.empty() ? "" : ", ") + d;
        }
        line(out, "DNS", dns);
    }
}

void tailnet_section(std::string& out, const TailnetConfig& t) {
    out += out.empty() ? "[Tailnet]\n" : "\n[Tailnet]\n";
    line(out, "ControlURL", t.control_url.to_string());
    if (t.auth_key.kind == AuthKeySource::Kind::kLiteral) {
        line(out, "AuthKey", t.auth_key.value);
    } else if (t.auth_key.kind == AuthKeySource::Kind::kFile) {
        line(out, "AuthKey", "file:" + t.auth_key.value);
    }
    if (!t.hostname.empty()) {
        line(out, "Hostname", t.hostname);
    }
    if (t.ephemeral) {
        line(out, "Ephemeral", "true");
    }
    if (t.control_key) {
        line(out, "ControlKey", "mkey:" + crypto::key_to_hex(t.control_key->view()));
    }
    if (!t.ca_file.empty()) {
        line(out, "CAFile", t.ca_file);
    }
}

void peer_section(std::string& out, const PeerEntry& p) {
    out += "\n[Peer]\n";
    line(out, "PublicKey", crypto::key_to_base64(p.public_key.view()));
    if (p.preshared_key) {
        line(out, "PresharedKey", crypto::key_to_base64(p.preshared_key->view()));
    }
    if (!p.allowed_ips.empty()) {
        line(out, "AllowedIPs",
             join(p.allowed_ips, [](const IpPrefix& a) { return a.to_string(); }));
    }
    if (p.endpoint) {
        line(out, "Endpoint", p.endpoint->to_string());
    }
    if (p.persistent_keepalive != 0) {
        line(out, "PersistentKeepalive", std::to_string(p.persistent_keepalive));
    }
}

void tunnel_tail(std::string& out, const NamedEndpoint& target, std::uint32_t inactivity,
                 std::uint32_t max_connections) {
    line(out, "Target", target.to_string());
    if (inactivity != 0) {
        line(out, "InactivityTimeout", std::to_string(inactivity));
    }
    credentials_and_limit(out, {}, {}, max_connections);
}

}  // namespace

std::string NamedEndpoint::to_string() const {
    const bool bracket = host.find(':') != std::string::npos;
    return (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string InterfaceAddress::to_string() const {
    return address.to_string() + "/" + std::to_string(prefix_len);
}

std::string ControlUrl::to_string() const {
    const bool bracket = host.find(':') != std::string::npos;
    std::string out = std::string(https ? "https://" : "http://") +
                      (bracket ? "[" + host + "]" : host);
    return port != 0 ? out + ":" + std::to_string(port) : out;
}

std::string serialize(const Config& c) {
    std::string out;
    interface_section(out, c.iface, c.tailnet.enabled());
    if (c.tailnet.enabled()) {
        tailnet_section(out, c.tailnet);
    }
    for (const PeerEntry& p : c.peers) {
        peer_section(out, p);
    }
    for (const ProxyListener& p : c.socks5) {
        out += "\n[Socks5]\n";
        line(out, "BindAddress", p.bind.to_string());
        credentials_and_limit(out, p.username, p.password, p.max_connections);
    }
    for (const ProxyListener& p : c.http) {
        out += "\n[http]\n";
        line(out, "BindAddress", p.bind.to_string());
        credentials_and_limit(out, p.username, p.password, p.max_connections);
    }
    for (const TcpClientTunnel& t : c.tcp_client_tunnels) {
        out += "\n[TCPClientTunnel]\n";
        line(out, "BindAddress", t.bind.to_string());
        tunnel_tail(out, t.target, 0, t.max_connections);
    }
    for (const TcpServerTunnel& t : c.tcp_server_tunnels) {
        out += "\n[TCPServerTunnel]\n";
        line(out, "ListenPort", std::to_string(t.listen_port));
        tunnel_tail(out, t.target, 0, t.max_connections);
        if (t.proxy_protocol) {
            line(out, "ProxyProtocol", "true");
        }
    }
    for (const UdpProxyTunnel& t : c.udp_proxy_tunnels) {
        out += "\n[UDPProxyTunnel]\n";
        line(out, "BindAddress", t.bind.to_string());
        tunnel_tail(out, t.target, t.inactivity_timeout_s, t.max_connections);
    }
    for (const UdpServerTunnel& t : c.udp_server_tunnels) {
        out += "\n[UDPServerTunnel]\n";
        line(out, "ListenPort", std::to_string(t.listen_port));
        tunnel_tail(out, t.target, t.inactivity_timeout_s, t.max_connections);
    }
    if (c.resolve_strategy != ResolveStrategy::kAuto) {
        out += "\n[Resolve]\n";
        line(out, "ResolveStrategy",
             c.resolve_strategy == ResolveStrategy::kIpv4 ? "ipv4" : "ipv6");
    }
    if (c.limits.max_tcp_connections != 0 || c.limits.stack_memory_mib != 0) {
        out += "\n[Limits]\n";
        if (c.limits.max_tcp_connections != 0) {
            line(out, "MaxTcpConnections", std::to_string(c.limits.max_tcp_connections));
        }
        if (c.limits.stack_memory_mib != 0) {
            line(out, "StackMemoryMiB", std::to_string(c.limits.stack_memory_mib));
        }
    }
    return out;
}

}  // namespace tunless::cfg
