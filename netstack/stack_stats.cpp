// Stack::stats() and the StackAccess bridge: our counters plus lwIP's LWIP_STATS, summed.
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "netstack/port/port_state.hpp"
#include "netstack/stack.hpp"
#include "netstack/stack_access.hpp"

namespace tunless::net {

std::string_view inject_drop_name(InjectDrop reason) {
    switch (reason) {
        case InjectDrop::kEmpty: return "empty packet";
        case InjectDrop::kTooShort: return "packet shorter than IP header";
        case InjectDrop::kTooLarge: return "packet over 65535 bytes";
        case InjectDrop::kBadVersion: return "not IPv4 or IPv6";
        case InjectDrop::kNoMemory: return "no memory for pbuf";
        case InjectDrop::kRejected: return "rejected by lwIP input";
    }
    return "unknown";
}

std::uint64_t StackStats::dropped_total() const {
    std::uint64_t total = 0;
    for (auto n : dropped) {
        total += n;
    }
    return total;
}

StackStats Stack::stats() const {
    StackStats out = stats_;
    out.heap_budget_refusals = port::state().heap_refusals;
    const auto& s = lwip_stats;
    auto& l = out.lwip;
    l.ip4_drops = s.ip.drop;
    l.ip6_drops = s.ip6.drop;
    l.frag_drops = std::uint64_t{s.ip_frag.drop} + s.ip6_frag.drop;
    l.icmp_drops = std::uint64_t{s.icmp.drop} + s.icmp6.drop + s.nd6.drop;
    l.udp_drops = s.udp.drop;
    l.tcp_drops = s.tcp.drop;
    l.tcp_mem_errors = s.tcp.memerr;
#if TUNLESS_LWIP_TAIL_LOSS
    l.tcp_fast_recoveries = tcp_loss_counters.fast_recoveries;
    l.tcp_sack_resends = tcp_loss_counters.sack_resends;
    l.tcp_probes = tcp_loss_counters.probes;
    l.tcp_timeouts = tcp_loss_counters.timeouts;
#endif
    l.heap_errors = s.mem.err;
    for (int i = 0; i < MEMP_MAX; ++i) {
        if (s.memp[i] != nullptr) {
            l.pool_errors += s.memp[i]->err;
        }
    }
    l.heap_used_bytes = s.mem.used;
    l.heap_peak_bytes = s.mem.max;
    return out;
}

bool StackAccess::acquire_tcp_slot(Stack& stack) {
    if (stack.stats_.tcp_connections >= stack.config_.max_tcp_connections) {
        ++stack.stats_.tcp_refused_limit;
        return false;
    }
    ++stack.stats_.tcp_connections;
    return true;
}

void StackAccess::release_tcp_slot(Stack& stack) {
    --stack.stats_.tcp_connections;
}

}  // namespace tunless::net
