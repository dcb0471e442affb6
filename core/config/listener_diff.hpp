// What a config reload changes among the proxy and forward listeners: the listener sections of
// two Configs ([Socks5], [http], [TCPClientTunnel], [TCPServerTunnel], [UDPProxyTunnel],
// [UDPServerTunnel]) matched by identity — the section kind plus where it listens (BindAddress,
// or ListenPort for the mesh-side tunnels). Pure: no sockets, nothing applied. The daemon's
// SIGHUP path (tools/tunless/app/service_reload.*) feeds the result to the proxy services.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/config/config.hpp"

namespace tunless::cfg {

enum class ListenerKind : std::uint8_t {
    kSocks5,
    kHttp,
    kTcpClientTunnel,
    kTcpServerTunnel,
    kUdpProxyTunnel,
    kUdpServerTunnel,
};

// The section header's name, as in the file: "Socks5", "http", "TCPClientTunnel", ...
const char* section_name(ListenerKind kind);
// [TCPServerTunnel] and [UDPServerTunnel] listen on the node's mesh addresses; the others on
// the host.
bool is_mesh_side(ListenerKind kind);
bool is_udp(ListenerKind kind);

// Where a listener listens. Two sections with equal ids are "the same listener" across a
// reload; anything else about them (Target, credentials, limits) is its settings.
struct ListenerId {
    ListenerKind kind = ListenerKind::kSocks5;
    Endpoint bind;                 // host-side kinds: BindAddress as configured (port 0 kept)
    std::uint16_t mesh_port = 0;   // mesh-side kinds: ListenPort

    bool operator==(const ListenerId&) const = default;
    // "[Socks5] 127.0.0.1:1080", "[TCPServerTunnel] ListenPort 80"
    std::string to_string() const;
};

enum class ListenerChange : std::uint8_t {
    kRemoved,  // in the previous config only: stop it
    kChanged,  // in both, settings differ: apply them (or reopen)
    kAdded,    // in the next config only: start it
};
const char* change_name(ListenerChange change);  // "removed", "changed", "added"

inline constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

struct ListenerDelta {
    ListenerChange change = ListenerChange::kAdded;
    ListenerId id;
    // Index into the previous / next Config's vector of that kind (kNoIndex where absent).
    std::size_t prev_index = kNoIndex;
    std::size_t next_index = kNoIndex;
    // Among the previous config's sections with this id, which one (kRemoved, kChanged): 0
    // unless a port-0 BindAddress repeats. Running listeners are matched by (id, rank).
    std::size_t rank = 0;
    int line = 0;  // of the section in the next file (previous file for kRemoved)
};

struct ListenerDiff {
    // In the order they must be applied: every removal first (so a bind address or port that
    // moves to another section is free), then changes, then additions; within each group by
    // ListenerKind, then in file order.
    std::vector<ListenerDelta> deltas;
    std::size_t unchanged = 0;  // listeners in both configs with equal settings

    bool empty() const { return deltas.empty(); }
    std::size_t count(ListenerChange change) const;
};

inline constexpr ListenerKind kListenerKinds[] = {
    ListenerKind::kSocks5,          ListenerKind::kHttp,           ListenerKind::kTcpClientTunnel,
    ListenerKind::kTcpServerTunnel, ListenerKind::kUdpProxyTunnel, ListenerKind::kUdpServerTunnel,
};

// Calls f(&Config::<the vector of kind's sections>) and returns what it returns; a member
// pointer rather than a vector, so one call can reach the same sections of several configs.
template <typename F>
decltype(auto) with_sections(ListenerKind kind, F&& f) {
    switch (kind) {
        case ListenerKind::kSocks5: return f(&Config::socks5);
        case ListenerKind::kHttp: return f(&Config::http);
        case ListenerKind::kTcpClientTunnel: return f(&Config::tcp_client_tunnels);
        case ListenerKind::kTcpServerTunnel: return f(&Config::tcp_server_tunnels);
        case ListenerKind::kUdpProxyTunnel: return f(&Config::udp_proxy_tunnels);
        case ListenerKind::kUdpServerTunnel: break;
    }
    return f(&Config::udp_server_tunnels);
}

// The id of the index-th section of `kind` in `config` (index must be valid).
ListenerId listener_id(const Config& config, ListenerKind kind, std::size_t index);
int listener_line(const Config& config, ListenerKind kind, std::size_t index);
std::size_t listener_count(const Config& config, ListenerKind kind);

// Matches the listener sections of `previous` and `next` by ListenerId. Sections with the same
// id (possible only for BindAddress port 0, which the parser lets repeat) pair up in file
// order. Line numbers are not settings: moving a section in the file changes nothing.
ListenerDiff diff_listeners(const Config& previous, const Config& next);

}  // namespace tunless::cfg
