#include "core/config/listener_diff.hpp"

namespace tunless::cfg {
namespace {

// Sections matched by id differ in settings when anything but the line differs: the id
// fields are equal already, and every other field of a section is a setting.
template <typename T>
bool same_settings(const T& a, const T& b) {
    T moved = a;
    moved.line = b.line;
    return moved == b;
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
    return with_sections(kind, [&c](auto member) { return (c.*member).size(); });
}

ListenerId listener_id(const Config& c, ListenerKind kind, std::size_t i) {
    return with_sections(kind, [&](auto member) { return id_of(kind, (c.*member)[i]); });
}

int listener_line(const Config& c, ListenerKind kind, std::size_t i) {
    return with_sections(kind, [&](auto member) { return (c.*member)[i].line; });
}

ListenerDiff diff_listeners(const Config& previous, const Config& next) {
    Groups g;
    for (ListenerKind kind : kListenerKinds) {
        with_sections(kind, [&](auto member) { diff_kind(kind, previous.*member, next.*member, g); });
    }
    ListenerDiff d;
    d.unchanged = g.unchanged;
    for (auto* group : {&g.removed, &g.changed, &g.added}) {
        d.deltas.insert(d.deltas.end(), group->begin(), group->end());
    }
    return d;
}

}  // namespace tunless::cfg
