#include "tools/tunless/app/node.hpp"

#include "tools/log/log.hpp"
#include "tools/tunless/app/peer_setup.hpp"
#include "tools/tunless/app/status_report.hpp"
#ifdef TUNLESS_TAILNET
#include "tools/tunless/app/tailnet_node.hpp"
#endif

namespace tunless::app {

Node::Node(const Options& options) : options_(options), device_(rng_, shifted_wall_) {}

Node::~Node() {
    if (loop_ && path_) loop_->remove_deadline_provider(*path_);
    if (udp_) udp_->set_receiver(nullptr);
}

Status Node::start(const cfg::Config& config) {
    config_ = config;
    auto loop = io::EventLoop::create();
    if (!loop) return loop.error();
    loop_ = std::move(*loop);

    // A tailnet node's WireGuard key is its node key from the state directory (TailnetNode).
    const bool tailnet = config.tailnet.enabled();
#ifndef TUNLESS_TAILNET
    if (tailnet) return fail(Errc::kUnsupported, "[Tailnet]: this build has no tailnet support");
#endif
    if (!tailnet) {
        if (!config.iface.private_key) return fail(Errc::kInvalidArgument, "no PrivateKey");
        device_.set_private_key(*config.iface.private_key);
        log::info("interface: public key {}", crypto::key_to_base64(device_.public_key().view()));
    }
    device_.set_mtu(config.iface.mtu);

    io::UdpTransport::Options udp_options;
    udp_options.port = config.iface.listen_port;
    // Kernel memory, used only while datagrams are queued; the default buffer drops bursts
    // (measured in tools/bench: 40k drops in 2 s at ~90 MB/s, none with 4 MiB).
    udp_options.socket_buffer_bytes = 4 << 20;
    auto udp = io::UdpTransport::open(*loop_, udp_options);
    if (!udp) {
        return fail(udp.error().code, "cannot open UDP port " +
                                          std::to_string(config.iface.listen_port) + ": " +
                                          udp.error().message);
    }
    udp_ = std::move(*udp);
    log::info("interface: listening on UDP port {}", udp_->local_port());

    path_ = std::make_unique<DataPath>(*loop_, device_, *udp_);
    path_->set_event_handler([this](const wg::Event& e) { report_event(e); });
    udp_->set_receiver(path_.get());

    net::StackConfig stack_config;
    for (const auto& a : config.iface.addresses) {
        stack_config.addresses.push_back(a.address);
        log::info("interface: address {}", a.to_string());
    }
    stack_config.addresses_later = tailnet;  // control assigns them after registration
    stack_config.mtu = config.iface.mtu;
    if (config.limits.max_tcp_connections != 0) {
        stack_config.max_tcp_connections = config.limits.max_tcp_connections;
    }
    if (config.limits.stack_memory_mib != 0) {
        stack_config.heap_limit_bytes = std::size_t{config.limits.stack_memory_mib} << 20;
    }
    log::info("interface: up to {} mesh TCP connections, stack memory cap {} MiB",
              stack_config.max_tcp_connections, stack_config.heap_limit_bytes >> 20);
    auto stack = net::Stack::create(stack_config, *path_, rng_, loop_->now());
    if (!stack) return stack.error();
    stack_ = std::move(*stack);
    path_->attach(*stack_);
    loop_->add_deadline_provider(*path_);

    auto peers = add_configured_peers(config, device_);
    if (!peers) return peers.error();
    startup_peers_ = std::move(*peers);
    start_resilience();
#ifdef TUNLESS_TAILNET
    if (tailnet) {
        auto t = TailnetNode::start(*this, config.tailnet, timestamp_state_dir(options_.state_dir));
        if (!t) return fail(t.error().code, "[Tailnet]: " + t.error().message);
        tailnet_ = std::move(*t);
        hooks_.add_counters([this](uapi::KeyValues& out) { tailnet_->append_status(out); });
    }
#endif
    return {};
}

void Node::start_resilience() {
    if (const std::string dir = timestamp_state_dir(options_.state_dir); !dir.empty()) {
        timestamps_ = std::make_unique<TimestampGuard>(dir, device_);
    }
    refresher_ =
        std::make_unique<EndpointRefresher>(device_, std::make_unique<GaiHostLookup>(*loop_));
    refresher_->set_peers(config_);
    refresher_->set_on_update([this](wg::PeerId id) { path_->initiate(id); });
    loop_->add_periodic(kRefreshCheckInterval, [this] {
        refresher_->tick(loop_->now());
        if (timestamps_) timestamps_->check();
    });
    auto nl = io::NetlinkMonitor::open(*loop_, [this] { on_network_change(); });
    if (nl) {
        netlink_ = std::move(*nl);
    } else {
        log::warn("network change monitor unavailable ({}): re-contacting peers only on timers",
                  nl.error().message);
    }
}

// A new local address (cellular re-attach) or link flap: contact every peer with a known
// endpoint and a session or keepalive now, so carrier NAT mappings and the peer's idea of our
// endpoint (roaming, WireGuard paper §2.1) follow at once instead of after keepalive/rekey
// timers. The UDP socket is bound to the wildcard address, so it needs no rebind.
void Node::on_network_change() {
    std::size_t contacted = 0;
    for (wg::PeerId id : device_.peer_ids()) {
        auto st = device_.peer_status(id);
        // Idle peers (no session, no keepalive) need nothing: their next packet handshakes.
        if (!st || !st->endpoint.is_set()) continue;
        if (!st->has_session && st->persistent_keepalive_s == 0) continue;
        path_->initiate(id);
        ++contacted;
    }
    log::info("network changed: handshaking with {} peer(s)", contacted);
    refresher_->refresh_all(loop_->now(), "network changed");
}

void Node::set_config(const cfg::Config& config) {
    config_ = config;
    if (refresher_) refresher_->set_peers(config_);
}

Status Node::run() {
    // wg semantics: a peer with PersistentKeepalive and a known endpoint is contacted at once,
    // so a node behind NAT becomes reachable without waiting for its own traffic.
    for (wg::PeerId id : startup_peers_) path_->initiate(id);
    Status st = loop_->run();
    if (timestamps_) timestamps_->check();
    log_status();
    return st;
}

void Node::report_event(const wg::Event& e) {
    if (refresher_) refresher_->on_event(loop_->now(), e);
    auto st = device_.peer_status(e.peer);
    const std::string who = st ? crypto::public_key_short(st->public_key) : "?";
    const std::string where = st ? st->endpoint.to_string() : "?";
    switch (e.kind) {
        case wg::EventKind::kHandshakeCompleted:
            log::info("peer {}: session established via {}", who, where);
            break;
        case wg::EventKind::kEndpointChanged:
            log::info("peer {}: endpoint changed to {}", who, where);
            break;
        case wg::EventKind::kHandshakeGaveUp:
            log::warn("peer {}: handshake did not complete, giving up until new traffic", who);
            break;
        case wg::EventKind::kSessionExpired:
            log::debug("peer {}: session expired", who);
            break;
    }
}

void Node::log_status() {
    for (const auto& line : status_lines(device_, *udp_, stack_.get())) log::info("{}", line);
#ifdef TUNLESS_TAILNET
    if (tailnet_) {
        for (const auto& line : tailnet_->status_lines()) log::info("{}", line);
    }
#endif
}

}  // namespace tunless::app
