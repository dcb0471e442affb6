#include "tools/tunless/app/reload.hpp"

#include <set>

#include "core/config/listener_diff.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/node.hpp"
#include "tools/tunless/app/peer_setup.hpp"
#include "tools/tunless/config_file.hpp"

namespace tunless::app {
namespace {

bool same_psk(const std::optional<crypto::SymmetricKey>& a,
              const std::optional<crypto::SymmetricKey>& b) {
    const bool a_set = a && !a->is_zero();
    const bool b_set = b && !b->is_zero();
    if (a_set != b_set) return false;
    return !a_set || crypto::constant_time_equal(a->view(), b->view());
}

const cfg::PeerEntry* find_entry(const cfg::Config& c, const crypto::PublicKey& key) {
    for (const auto& p : c.peers) {
        if (p.public_key == key) return &p;
    }
    return nullptr;
}

// Settings only a restart applies: warn, keep running with the old ones.
void warn_restart_only(const cfg::Config& prev, const cfg::Config& next) {
    const auto& a = prev.iface;
    const auto& b = next.iface;
    if (a.addresses != b.addresses)
        log::warn("reload: Address changed; restart tunless to apply it");
    if (a.mtu != b.mtu) log::warn("reload: MTU changed; restart tunless to apply it");
    if (a.dns != b.dns || a.dns_search != b.dns_search) {
        log::warn("reload: DNS changed; restart tunless to apply it");
    }
    if (prev.limits.max_tcp_connections != next.limits.max_tcp_connections ||
        prev.limits.stack_memory_mib != next.limits.stack_memory_mib) {
        log::warn("reload: [Limits] changed; restart tunless to apply it");
    }
}

void reload_interface(Node& node, const cfg::Config& prev, const cfg::Config& next) {
    wg::Device& dev = node.device();
    const crypto::PrivateKey* current = dev.private_key();
    if (next.iface.private_key &&
        (current == nullptr ||
         !crypto::constant_time_equal(current->view(), next.iface.private_key->view()))) {
        dev.set_private_key(*next.iface.private_key);
        log::info("reload: new private key; public key {}",
                  crypto::key_to_base64(dev.public_key().view()));
    }
    const std::uint16_t want = next.iface.listen_port;
    const bool port_changed =
        want != 0 ? want != node.udp().local_port() : prev.iface.listen_port != 0;
    if (port_changed) {
        if (Status st = node.udp().rebind(want); !st) {
            log::error("reload: cannot move to UDP port {} ({}); staying on {}", want,
                       st.error().message, node.udp().local_port());
        } else {
            log::info("reload: listening on UDP port {}", node.udp().local_port());
        }
    }
}

// One [Peer] of the new file: add it, or update it in place (sessions survive).
void reload_peer(Node& node, const cfg::Config& prev, const cfg::PeerEntry& entry,
                 const std::string& file) {
    wg::Device& dev = node.device();
    const std::string who = crypto::public_key_short(entry.public_key);
    const cfg::PeerEntry* old = find_entry(prev, entry.public_key);
    const auto id = dev.find_peer(entry.public_key);
    const auto running = id ? dev.peer_status(*id) : std::nullopt;
    cfg::PeerEntry wanted = entry;
    // An unchanged Endpoint line keeps the endpoint the peer roamed to (wg semantics), unless
    // there is none yet: a host name that did not resolve at start-up (no data call yet) is
    // tried again, so a reload after the link comes up fixes it.
    if (old != nullptr && old->endpoint == entry.endpoint && running &&
        running->endpoint.is_set()) {
        wanted.endpoint.reset();
    }
    const wg::PeerConfig pc = make_peer_config(wanted, file);
    if (!id) {
        auto added = dev.add_peer(pc);
        if (!added) {
            log::error("{}:{}: reload: peer {} rejected: {}", file, entry.line, who,
                       added.error().message);
            return;
        }
        log::info("reload: peer {} added", who);
        if (pc.persistent_keepalive_s != 0 && pc.endpoint.is_set())
            node.data_path().initiate(*added);
        return;
    }
    const auto& before = running;
    const bool changed = !before || before->allowed_ips != pc.allowed_ips ||
                         before->persistent_keepalive_s != pc.persistent_keepalive_s ||
                         (pc.endpoint.is_set() && before->endpoint != pc.endpoint) ||
                         !same_psk(dev.preshared_key(*id), pc.preshared_key);
    if (!changed) return;
    if (Status st = dev.update_peer(*id, pc); !st) {
        log::error("{}:{}: reload: peer {} not updated: {}", file, entry.line, who,
                   st.error().message);
        return;
    }
    log::info("reload: peer {} updated", who);
    const bool keepalive_on =
        before && before->persistent_keepalive_s == 0 && pc.persistent_keepalive_s != 0;
    auto after = dev.peer_status(*id);
    if (keepalive_on && after && after->endpoint.is_set()) node.data_path().initiate(*id);
}

void reload_peers(Node& node, const cfg::Config& prev, const cfg::Config& next) {
    std::set<crypto::PublicKey> in_file;
    for (const auto& entry : next.peers) {
        in_file.insert(entry.public_key);
        reload_peer(node, prev, entry, next.file);
    }
    wg::Device& dev = node.device();
    for (wg::PeerId id : dev.peer_ids()) {
        auto st = dev.peer_status(id);
        if (!st || in_file.count(st->public_key) != 0) continue;
        (void)dev.remove_peer(id);
        log::info("reload: peer {} removed", crypto::public_key_short(st->public_key));
    }
}

bool same_tailnet(const cfg::TailnetConfig& a, const cfg::TailnetConfig& b) {
    return a.enabled() == b.enabled() && a.control_url == b.control_url &&
           a.auth_key == b.auth_key && a.hostname == b.hostname && a.ephemeral == b.ephemeral &&
           a.control_key == b.control_key && a.ca_file == b.ca_file;
}

bool services_differ(const cfg::Config& a, const cfg::Config& b) {
    return a.resolve_strategy != b.resolve_strategy || !cfg::diff_listeners(a, b).empty();
}

}  // namespace

bool reload_config(Node& node) {
    const std::string& path = node.options().config_path;
    log::info("SIGHUP: reloading {}", path);
    const cfg::ParseReport report = cli::load_config(path);
    for (const auto& w : report.warnings) log::warn("{}", w.to_string());
    if (!report.ok()) {
        for (const auto& e : report.errors) log::error("{}", e.to_string());
        log::error("reload: {} is invalid; the running configuration stays in effect", path);
        return false;
    }
    const cfg::Config prev = node.config();
    const cfg::Config& next = report.config;
    warn_restart_only(prev, next);
    reload_interface(node, prev, next);
    if (prev.tailnet.enabled() || next.tailnet.enabled()) {
        // A tailnet node's peers are the netmap's: the file has none to reconcile, and
        // removing "unlisted" peers would cut the node off until the next map.
        if (!same_tailnet(prev.tailnet, next.tailnet)) {
            log::warn("reload: [Tailnet] changed; restart tunless to apply it");
        }
    } else {
        reload_peers(node, prev, next);
    }
    // What stays in effect: restart-only settings keep their running values, so a later
    // reload still reports them and `tunless status` shows what is really used.
    cfg::Config in_effect = next;
    in_effect.iface.addresses = prev.iface.addresses;
    in_effect.iface.mtu = prev.iface.mtu;
    in_effect.iface.dns = prev.iface.dns;
    in_effect.iface.dns_search = prev.iface.dns_search;
    in_effect.limits = prev.limits;
    in_effect.tailnet = prev.tailnet;
    if (services_differ(prev, next)) {
        if (!node.hooks().has_reload_handlers()) {
            log::warn("reload: proxy/forward sections changed; restart tunless to apply them");
            in_effect.socks5 = prev.socks5;
            in_effect.http = prev.http;
            in_effect.tcp_client_tunnels = prev.tcp_client_tunnels;
            in_effect.tcp_server_tunnels = prev.tcp_server_tunnels;
            in_effect.udp_proxy_tunnels = prev.udp_proxy_tunnels;
            in_effect.udp_server_tunnels = prev.udp_server_tunnels;
            in_effect.resolve_strategy = prev.resolve_strategy;
        } else if (node.hooks().reload(prev, next, in_effect) == ReloadOutcome::kNeedsRestart) {
            log::warn("reload: some proxy/forward changes need a restart of tunless");
        }
    }
    node.set_config(in_effect);
    log::info("reload: done ({} peers)", node.device().peer_count());
    return true;
}

}  // namespace tunless::app
