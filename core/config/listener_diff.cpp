#include "core/config/listener_diff.hpp"

namespace tunless::cfg {
namespace {

// Settings are every field but the identity and the line. Keep these in step with config.hpp:
// a field missing here would make a reload ignore changes to it.
bool same_settings(const ProxyListener& a, const ProxyListener& b) {
    return a.username == b.username && a.password == b.password &&
           a.max_connections == b.max_connections;
}
bool same_settings(const TcpClientTunnel& a, const TcpClientTunnel& b) {
    return a.target == b.target && a.max_connections == b.max_connections;
}
bool same_settings(const TcpServerTunnel& a, const TcpServerTunnel& b) {
    return a.target == b.target && a.max_connections == b.max_connections &&
           a.proxy_protocol == b.proxy_protocol;
}
bool same_settings(const UdpProxyTunnel& a, const UdpProxyTunnel& b) {
    return a.target == b.target && a.inactivity_timeout_s == b.inactivity_timeout_s &&
           a.max_connections == b.max_connections;
}
bool same_settings(const UdpServerTunnel& a, const UdpServerTunnel& b) {
    return a.target == b.target && a.inactivity_timeout_s == b.inactivity_timeout_s &&
           a.max_connections == b.max_connections;
}

template <typename T>
ListenerId id_of(ListenerKind kind, const T& section) {
    ListenerId id;
    id.kind = kind;
    if constexpr (requires { section.listen_port; }) {
        id.mesh_port = section.listen_port;
    } else {
        id.bind = section.bind;
    }
    return id;
}

struct Groups {
    std::vector<ListenerDelta> removed, changed, added;
    std::size_t unchanged = 0;
};

template <typename T>
void diff_kind(ListenerKind kind, const std::vector<T>& prev, const std::vector<T>& next,
               Groups& out) {
    std::vector<bool> matched(next.size(), false);
    for (std::size_t i = 0; i < prev.size(); ++i) {
        const ListenerId id = id_of(kind, prev[i]);
        std::size_t rank = 0;
        for (std::size_t k = 0; k < i; ++k) {
            rank += id_of(kind, prev[k]) == id ? 1 : 0;
        }
        std::size_t j = 0;
        while (j < next.size() && (matched[j] || !(id_of(kind, next[j]) == id))) {
            ++j;
        }
        if (j == next.size()) {
            out.removed.push_back({ListenerChange::kRemoved, id, i, kNoIndex, rank, prev[i].line});
            continue;
        }
        matched[j] = true;
        if (same_settings(prev[i], next[j])) {
            ++out.unchanged;
        } else {
            out.changed.push_back({ListenerChange::kChanged, id, i, j, rank, next[j].line});
        }
    }
    for (std::size_t j = 0; j < next.size(); ++j) {
        if (!matched[j]) {
            out.added.push_back(
                {ListenerChange::kAdded, id_of(kind, next[j]), kNoIndex, j, 0, next[j].line});
        }
    }
}

}  // namespace

const char* section_name(ListenerKind kind) {
    switch (kind) {
        case ListenerKind::kSocks5: return "Socks5";
        case ListenerKind::kHttp: return "http";
        case ListenerKind::kTcpClientTunnel: return "TCPClientTunnel";
        case ListenerKind::kTcpServerTunnel: return "TCPServerTunnel";
        case ListenerKind::kUdpProxyTunnel: return "UDPProxyTunnel";
        case ListenerKind::kUdpServerTunnel: return "UDPServerTunnel";
    }
    return "?";
}

bool is_mesh_side(ListenerKind kind) {
    return kind == ListenerKind::kTcpServerTunnel || kind == ListenerKind::kUdpServerTunnel;
}

bool is_udp(ListenerKind kind) {
    return kind == ListenerKind::kUdpProxyTunnel || kind == ListenerKind::kUdpServerTunnel;
}

std::string ListenerId::to_string() const {
    std::string s = std::string("[") + section_name(kind) + "] ";
    if (is_mesh_side(kind)) {
        return s + "ListenPort " + std::to_string(mesh_port);
    }
    return s + bind.to_string();
}

const char* change_name(ListenerChange change) {
    switch (change) {
        case ListenerChange::kRemoved: return "removed";
        case ListenerChange::kChanged: return "changed";
        case ListenerChange::kAdded: return "added";
    }
    return "?";
}

std::size_t ListenerDiff::count(ListenerChange change) const {
    std::size_t n = 0;
    for (const auto& d : deltas) {
        n += d.change == change ? 1 : 0;
    }
    return n;
}

std::size_t listener_count(const Config& c, ListenerKind kind) {
    switch (kind) {
        case ListenerKind::kSocks5: return c.socks5.size();
        case ListenerKind::kHttp: return c.http.size();
        case ListenerKind::kTcpClientTunnel: return c.tcp_client_tunnels.size();
        case ListenerKind::kTcpServerTunnel: return c.tcp_server_tunnels.size();
        case ListenerKind::kUdpProxyTunnel: return c.udp_proxy_tunnels.size();
        case ListenerKind::kUdpServerTunnel: return c.udp_server_tunnels.size();
    }
    return 0;
}

ListenerId listener_id(const Config& c, ListenerKind kind, std::size_t i) {
    switch (kind) {
        case ListenerKind::kSocks5: return id_of(kind, c.socks5[i]);
        case ListenerKind::kHttp: return id_of(kind, c.http[i]);
        case ListenerKind::kTcpClientTunnel: return id_of(kind, c.tcp_client_tunnels[i]);
        case ListenerKind::kTcpServerTunnel: return id_of(kind, c.tcp_server_tunnels[i]);
        case ListenerKind::kUdpProxyTunnel: return id_of(kind, c.udp_proxy_tunnels[i]);
        case ListenerKind::kUdpServerTunnel: return id_of(kind, c.udp_server_tunnels[i]);
    }
    return {};
}

int listener_line(const Config& c, ListenerKind kind, std::size_t i) {
    switch (kind) {
        case ListenerKind::kSocks5: return c.socks5[i].line;
        case ListenerKind::kHttp: return c.http[i].line;
        case ListenerKind::kTcpClientTunnel: return c.tcp_client_tunnels[i].line;
        case ListenerKind::kTcpServerTunnel: return c.tcp_server_tunnels[i].line;
        case ListenerKind::kUdpProxyTunnel: return c.udp_proxy_tunnels[i].line;
        case ListenerKind::kUdpServerTunnel: return c.udp_server_tunnels[i].line;
    }
    return 0;
}

ListenerDiff diff_listeners(const Config& previous, const Config& next) {
    Groups g;
    diff_kind(ListenerKind::kSocks5, previous.socks5, next.socks5, g);
    diff_kind(ListenerKind::kHttp, previous.http, next.http, g);
    diff_kind(ListenerKind::kTcpClientTunnel, previous.tcp_client_tunnels,
              next.tcp_client_tunnels, g);
    diff_kind(ListenerKind::kTcpServerTunnel, previous.tcp_server_tunnels,
              next.tcp_server_tunnels, g);
    diff_kind(ListenerKind::kUdpProxyTunnel, previous.udp_proxy_tunnels, next.udp_proxy_tunnels,
              g);
    diff_kind(ListenerKind::kUdpServerTunnel, previous.udp_server_tunnels,
              next.udp_server_tunnels, g);
    ListenerDiff d;
    d.unchanged = g.unchanged;
    for (auto* group : {&g.removed, &g.changed, &g.added}) {
        d.deltas.insert(d.deltas.end(), group->begin(), group->end());
    }
    return d;
}

}  // namespace tunless::cfg
