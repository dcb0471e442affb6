#include "tools/tunless/app/status_report.hpp"

#include <fmt/format.h>

namespace tunless::app {

std::vector<std::string> status_lines(const wg::Device& device, const io::UdpTransport& udp,
                                      const net::Stack* stack) {
    std::vector<std::string> lines;
    for (wg::PeerId id : device.peer_ids()) {
        auto st = device.peer_status(id);
        if (!st) continue;
        lines.push_back(fmt::format(
            "peer {}: endpoint {}, rx {} B, tx {} B, last handshake {}, session {}",
            crypto::public_key_short(st->public_key), st->endpoint.to_string(), st->rx_bytes,
            st->tx_bytes, st->last_handshake ? fmt::format("@{}", st->last_handshake->seconds) : "never",
            st->has_session ? "up" : "down"));
    }
    const auto& ds = device.stats();
    std::string drops = "drops:";
    for (std::size_t i = 0; i < wg::kDropReasonCount; ++i) {
        if (ds.drops[i] == 0) continue;
        drops += fmt::format(" {}={}", wg::drop_reason_name(static_cast<wg::DropReason>(i)),
                             ds.drops[i]);
    }
    lines.push_back(drops);
    lines.push_back(fmt::format("handshakes: initiated={} completed={} cookie_replies={}",
                                ds.handshakes_initiated, ds.handshakes_completed,
                                ds.cookie_replies_sent));
    const auto& ts = udp.stats();
    lines.push_back(fmt::format(
        "udp: rx={} ({} B) tx={} ({} B) tx_drops: would_block={} unreachable={} refused={} "
        "no_path={} too_big={} other={} rx_truncated={}",
        ts.rx_datagrams, ts.rx_bytes, ts.tx_datagrams, ts.tx_bytes, ts.tx_drop_would_block,
        ts.tx_drop_unreachable, ts.tx_drop_refused, ts.tx_drop_no_path, ts.tx_drop_too_big,
        ts.tx_drop_other, ts.rx_drop_truncated));
    lines.push_back(fmt::format(
        "udp offload: gso={} sends={} segments={} failed={} gro={} batches={} segments={}",
        udp.has_gso() ? "on" : "off", ts.tx_gso_sends, ts.tx_gso_segments, ts.tx_gso_failed,
        udp.has_gro() ? "on" : "off", ts.rx_gro_batches, ts.rx_gro_segments));
    if (stack != nullptr) {
        const auto ss = stack->stats();
        lines.push_back(fmt::format(
            "netstack: injected={} egress={} inject_drops={} tcp_connections={} heap_used={} B "
            "heap_peak={} B lwip_drops: ip4={} ip6={} tcp={} udp={} icmp={}",
            ss.injected_packets, ss.egress_packets, ss.dropped_total(), ss.tcp_connections,
            ss.lwip.heap_used_bytes, ss.lwip.heap_peak_bytes, ss.lwip.ip4_drops,
            ss.lwip.ip6_drops, ss.lwip.tcp_drops, ss.lwip.udp_drops, ss.lwip.icmp_drops));
        lines.push_back(fmt::format(
            "tcp loss repair: fast_recoveries={} sack_resends={} probes={} timeouts={}",
            ss.lwip.tcp_fast_recoveries, ss.lwip.tcp_sack_resends, ss.lwip.tcp_probes,
            ss.lwip.tcp_timeouts));
    }
    return lines;
}

}  // namespace tunless::app
