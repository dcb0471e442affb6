#include "tools/tunless/app/uapi_counters.hpp"

#include "tools/tunless/app/node.hpp"

#ifndef TUNLESS_VERSION
#define TUNLESS_VERSION "unknown"
#endif

namespace tunless::app {
namespace {

template <typename T>
void put(uapi::KeyValues& kv, std::string key, T value) {
    if constexpr (std::is_arithmetic_v<T>) {
        kv.emplace_back(std::move(key), std::to_string(value));
    } else {
        kv.emplace_back(std::move(key), std::string(value));
    }
}

void device_counters(uapi::KeyValues& kv, const wg::Device& dev) {
    const auto& ds = dev.stats();
    put(kv, "handshake.initiated", ds.handshakes_initiated);
    put(kv, "handshake.completed", ds.handshakes_completed);
    put(kv, "handshake.cookie_replies_sent", ds.cookie_replies_sent);
    for (std::size_t i = 0; i < wg::kDropReasonCount; ++i) {
        put(kv, std::string("drop.") + wg::drop_reason_name(static_cast<wg::DropReason>(i)),
            ds.drops[i]);
    }
    for (wg::PeerId id : dev.peer_ids()) {
        auto st = dev.peer_status(id);
        if (!st) continue;
        const std::string prefix = "peer." + crypto::key_to_hex(st->public_key.view()) + ".";
        put(kv, prefix + "session", st->has_session ? "up" : "down");
    }
}

void udp_counters(uapi::KeyValues& kv, const io::UdpTransport& udp) {
    const auto& t = udp.stats();
    put(kv, "udp.rx_datagrams", t.rx_datagrams);
    put(kv, "udp.rx_bytes", t.rx_bytes);
    put(kv, "udp.tx_datagrams", t.tx_datagrams);
    put(kv, "udp.tx_bytes", t.tx_bytes);
    put(kv, "udp.rx_drop_truncated", t.rx_drop_truncated);
    put(kv, "udp.rx_errors", t.rx_errors);
    put(kv, "udp.tx_drop_would_block", t.tx_drop_would_block);
    put(kv, "udp.tx_drop_unreachable", t.tx_drop_unreachable);
    put(kv, "udp.tx_drop_refused", t.tx_drop_refused);
    put(kv, "udp.tx_drop_no_path", t.tx_drop_no_path);
    put(kv, "udp.tx_drop_too_big", t.tx_drop_too_big);
    put(kv, "udp.tx_drop_other", t.tx_drop_other);
    put(kv, "udp.gso", udp.has_gso() ? "on" : "off");
    put(kv, "udp.gro", udp.has_gro() ? "on" : "off");
    put(kv, "udp.tx_gso_sends", t.tx_gso_sends);
    put(kv, "udp.tx_gso_segments", t.tx_gso_segments);
    put(kv, "udp.tx_gso_failed", t.tx_gso_failed);
    put(kv, "udp.rx_gro_batches", t.rx_gro_batches);
    put(kv, "udp.rx_gro_segments", t.rx_gro_segments);
}

void stack_counters(uapi::KeyValues& kv, const net::Stack& stack) {
    const auto s = stack.stats();
    put(kv, "netstack.injected_packets", s.injected_packets);
    put(kv, "netstack.delivered_packets", s.delivered_packets);
    put(kv, "netstack.egress_packets", s.egress_packets);
    for (std::size_t i = 0; i < net::kInjectDropCount; ++i) {
        put(kv,
            "netstack.drop." + std::string(net::inject_drop_name(static_cast<net::InjectDrop>(i))),
            s.dropped[i]);
    }
    put(kv, "netstack.tcp_connections", s.tcp_connections);
    put(kv, "netstack.tcp_refused_limit", s.tcp_refused_limit);
    put(kv, "netstack.tcp_listeners", s.tcp_listeners);
    put(kv, "netstack.udp_sockets", s.udp_sockets);
    put(kv, "netstack.heap_used_bytes", s.lwip.heap_used_bytes);
    put(kv, "netstack.heap_peak_bytes", s.lwip.heap_peak_bytes);
    put(kv, "netstack.lwip.ip4_drops", s.lwip.ip4_drops);
    put(kv, "netstack.lwip.ip6_drops", s.lwip.ip6_drops);
    put(kv, "netstack.lwip.tcp_drops", s.lwip.tcp_drops);
    put(kv, "netstack.lwip.udp_drops", s.lwip.udp_drops);
    put(kv, "netstack.lwip.icmp_drops", s.lwip.icmp_drops);
    put(kv, "netstack.lwip.heap_errors", s.lwip.heap_errors);
    put(kv, "netstack.lwip.pool_errors", s.lwip.pool_errors);
}

}  // namespace

uapi::KeyValues tunless_counters(Node& node, const std::string& interface_name) {
    uapi::KeyValues kv;
    put(kv, "version", TUNLESS_VERSION);
    put(kv, "interface", interface_name);
    put(kv, "config_file", node.options().config_path);
    for (const auto& a : node.config().iface.addresses) put(kv, "address", a.to_string());
    put(kv, "mtu", node.config().iface.mtu);
    device_counters(kv, node.device());
    udp_counters(kv, node.udp());
    stack_counters(kv, node.stack());
    put(kv, "datapath.inject_failures", node.data_path().inject_failures());
    node.hooks().append_counters(kv);
    return kv;
}

}  // namespace tunless::app
