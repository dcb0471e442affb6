#include "netstack/stack.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/memp.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "netstack/invariant.hpp"
#include "netstack/port/port_state.hpp"
#include "netstack/stack_access.hpp"

namespace tunless::net {
namespace {

bool g_created = false;  // lwIP's globals can be initialised once per process

constexpr std::size_t kMaxPacketBytes = 65535;  // pbuf tot_len is 16 bits
constexpr std::size_t kIpv4HeaderBytes = 20;
constexpr std::size_t kIpv6HeaderBytes = 40;
constexpr std::uint16_t kMinMtu = 576;      // RFC 791 minimum reassembly size
constexpr std::uint16_t kMinMtuIpv6 = 1280; // RFC 8200 §5
// With no TCP pcb and no reassembly in progress, lwIP's only timers are its 1 s housekeeping
// ticks (reassembly, ND6 cache aging), which then have nothing to do. They are deferred to this
// period so an idle node does not wake every second; never longer, because lwIP's u32
// millisecond timeouts must not fall 24.8 days behind sys_now() (TIME_LESS_THAN wraps).
constexpr auto kIdleHousekeeping = std::chrono::seconds(30);

bool housekeeping_only() {
    return tcp_active_pcbs == nullptr && tcp_tw_pcbs == nullptr &&
           lwip_stats.memp[MEMP_REASSDATA]->used == 0 &&
           lwip_stats.memp[MEMP_IP6_REASSDATA]->used == 0;
}

std::uint32_t to_ms32(Instant t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    return static_cast<std::uint32_t>(ms.count());  // wraps like lwIP expects (u32 ms)
}

// inject() and on_timer() run lwIP's input/timer paths, which call our TCP/UDP callbacks and
// the egress hook; neither may start another inject()/on_timer() (engineering notes §6.5).
class EntryGuard {
public:
    EntryGuard() {
        tunless_lwip_assert_core_locked();
        auto& s = port::state();
        TUNLESS_NET_INVARIANT(!s.in_stack_entry,
                              "Stack::inject/on_timer re-entered from a netstack callback");
        s.in_stack_entry = true;
    }
    ~EntryGuard() { port::state().in_stack_entry = false; }
    EntryGuard(const EntryGuard&) = delete;
    EntryGuard& operator=(const EntryGuard&) = delete;
};

Status validate_addresses(const std::vector<IpAddress>& addresses, bool allow_none,
                          std::size_t& v6_count) {
    std::size_t v4 = 0;
    std::size_t v6 = 0;
    for (const auto& address : addresses) {
        const IpAddress a = address.unmap_v4();
        if (a.is_unspecified()) {
            return fail(Errc::kInvalidArgument, "netstack: unspecified node address");
        }
        (a.is_v4() ? v4 : v6) += 1;
    }
    if (v4 + v6 == 0 && !allow_none) {
        return fail(Errc::kInvalidArgument, "netstack: no node address configured");
    }
    if (v4 > StackConfig::kMaxIpv4Addresses || v6 > StackConfig::kMaxIpv6Addresses) {
        return fail(Errc::kUnsupported, "netstack: at most 1 IPv4 and 4 IPv6 node addresses");
    }
    v6_count = v6;
    return {};
}

Status validate(const StackConfig& config) {
    std::size_t v6 = 0;
    if (auto st = validate_addresses(config.addresses, config.addresses_later, v6); !st) {
        return st;
    }
    if (config.mtu < kMinMtu || (v6 > 0 && config.mtu < kMinMtuIpv6)) {
        return fail(Errc::kInvalidArgument, "netstack: MTU below the IPv4/IPv6 minimum");
    }
    return {};
}

}  // namespace

struct Stack::Impl {
    struct netif netif {};
    std::vector<std::uint8_t> scratch;  // copy-out buffer for chained egress packets

    // netif->output / output_ip6: lwIP hands us a complete IP packet; it stays lwIP's.
    static err_t output_ip4(struct netif* nif, struct pbuf* p, const ip4_addr_t* /*dst*/) {
        return emit(*static_cast<Stack*>(nif->state), p);
    }
    static err_t output_ip6(struct netif* nif, struct pbuf* p, const ip6_addr_t* /*dst*/) {
        return emit(*static_cast<Stack*>(nif->state), p);
    }

    static err_t emit(Stack& stack, struct pbuf* p) {
        ByteView packet;
        if (p->next == nullptr) {
            packet = ByteView(static_cast<const std::uint8_t*>(p->payload), p->len);
        } else {
            auto& buf = stack.impl_->scratch;
            buf.resize(p->tot_len);
            pbuf_copy_partial(p, buf.data(), p->tot_len, 0);  // chain-safe (notes §6.3)
            packet = ByteView(buf.data(), buf.size());
            ++stack.stats_.egress_chained;
        }
        ++stack.stats_.egress_packets;
        stack.stats_.egress_bytes += packet.size();
        auto& state = port::state();
        state.in_egress = true;
        stack.egress_.on_egress(packet);
        state.in_egress = false;
        return ERR_OK;
    }

    // netif_add's init callback: an interface without link layer (no ARP, no ND resolution:
    // output_ip6 receives packets directly, so lwIP never queries neighbours for it).
    static err_t init_netif(struct netif* nif) {
        const Stack& stack = *static_cast<Stack*>(nif->state);
        nif->name[0] = 'w';
        nif->name[1] = 'g';
        nif->output = output_ip4;
        nif->output_ip6 = output_ip6;
        nif->mtu = stack.config_.mtu;
        nif->flags = 0;  // not NETIF_FLAG_ETHARP / BROADCAST / ETHERNET
        nif->hwaddr_len = 0;
        return ERR_OK;
    }
};

Result<std::unique_ptr<Stack>> Stack::create(const StackConfig& config, EgressSink& egress,
                                             Rng& rng, Instant now) {
    if (auto ok = validate(config); !ok) {
        return ok.error();
    }
    TUNLESS_NET_INVARIANT(!g_created, "only one net::Stack per process (lwIP state is global)");
    auto& state = port::state();
    state.rng = &rng;  // lwip_init() draws the first ephemeral ports
    state.owner = std::this_thread::get_id();
    state.heap_limit_bytes = config.heap_limit_bytes;  // ADR 0001: the budget mem_malloc checks
    std::unique_ptr<Stack> stack(new Stack(config, egress, now));
    g_created = true;
    lwip_init();
    if (auto ok = stack->bring_up(); !ok) {
        return ok.error();
    }
    return stack;
}

Stack::Stack(const StackConfig& config, EgressSink& egress, Instant now)
    : config_(config),
      egress_(egress),
      now_(now),
      last_timer_run_(now),
      impl_(std::make_unique<Impl>()) {
    port::state().now_ms = to_ms32(now);
    impl_->scratch.reserve(config_.mtu);
}

Status Stack::bring_up() {
    // No netmask or gateway: on a point-to-point default-route interface they select nothing.
    ip4_addr_t none;
    ip4_addr_set_zero(&none);
    struct netif* nif = &impl_->netif;
    if (netif_add(nif, &none, &none, &none, this, Impl::init_netif, ip_input) == nullptr) {
        return fail(Errc::kIo, "netstack: netif_add failed");
    }
    apply_addresses();
    netif_set_default(nif);  // the mesh is our only route: connect() reaches any destination
    netif_set_link_up(nif);
    netif_set_up(nif);
    return {};
}

void Stack::apply_addresses() {
    struct netif* nif = &impl_->netif;
    ip4_addr_t addr;
    ip4_addr_set_zero(&addr);
    for (const auto& address : config_.addresses) {
        const IpAddress a = address.unmap_v4();
        if (a.is_v4()) {
            std::memcpy(&addr.addr, a.data(), 4);
        }
    }
    // lwIP aborts TCP pcbs bound to an address that goes away (tcp_netif_ip_addr_changed).
    netif_set_ipaddr(nif, &addr);
    s8_t slot = 0;
    for (const auto& address : config_.addresses) {
        const IpAddress a = address.unmap_v4();
        if (a.is_v6()) {
            ip6_addr_t a6;
            std::memcpy(a6.addr, a.data(), 16);
            ip6_addr_clear_zone(&a6);
            if (!ip6_addr_cmp(netif_ip6_addr(nif, slot), &a6) ||
                !ip6_addr_ispreferred(netif_ip6_addr_state(nif, slot))) {
                netif_ip6_addr_set(nif, slot, &a6);
                // Valid at once: no DAD on a tunnel whose peers are configured, not discovered.
                netif_ip6_addr_set_state(nif, slot, IP6_ADDR_PREFERRED);
            }
            ++slot;
        }
    }
    for (; slot < LWIP_IPV6_NUM_ADDRESSES; ++slot) {
        netif_ip6_addr_set_state(nif, slot, IP6_ADDR_INVALID);
    }
}

Status Stack::set_addresses(const std::vector<IpAddress>& addresses) {
    std::size_t v6 = 0;
    if (auto st = validate_addresses(addresses, true, v6); !st) {
        return st;
    }
    if (v6 > 0 && config_.mtu < kMinMtuIpv6) {
        return fail(Errc::kInvalidArgument, "netstack: MTU below the IPv6 minimum");
    }
    EntryGuard guard;
    config_.addresses = addresses;
    apply_addresses();
    return {};
}

struct netif* StackAccess::netif(Stack& stack) {
    return &stack.impl_->netif;
}

Stack::~Stack() {
    TUNLESS_NET_INVARIANT(stats_.tcp_connections == 0 && stats_.udp_sockets == 0 &&
                              stats_.tcp_listeners == 0,
                          "net::Stack destroyed before its TCP/UDP objects");
    netif_set_down(&impl_->netif);
    netif_remove(&impl_->netif);
}

Status Stack::inject(ByteView ip_packet) {
    EntryGuard guard;
    ++stats_.injected_packets;
    stats_.injected_bytes += ip_packet.size();
    auto drop = [this](InjectDrop reason) -> Status {
        ++stats_.dropped[static_cast<std::size_t>(reason)];
        const Errc code = reason == InjectDrop::kNoMemory ? Errc::kLimitReached : Errc::kProtocol;
        return fail(code, std::string(inject_drop_name(reason)));
    };
    if (ip_packet.empty()) {
        return drop(InjectDrop::kEmpty);
    }
    if (ip_packet.size() > kMaxPacketBytes) {
        return drop(InjectDrop::kTooLarge);
    }
    const unsigned version = ip_packet[0] >> 4;
    if (version != 4 && version != 6) {
        return drop(InjectDrop::kBadVersion);
    }
    if (ip_packet.size() < (version == 4 ? kIpv4HeaderBytes : kIpv6HeaderBytes)) {
        return drop(InjectDrop::kTooShort);
    }
    const auto len = static_cast<u16_t>(ip_packet.size());
    struct pbuf* p = pbuf_alloc(PBUF_RAW, len, PBUF_RAM);  // one contiguous buffer
    if (p == nullptr) {
        return drop(InjectDrop::kNoMemory);
    }
    std::memcpy(p->payload, ip_packet.data(), len);
    struct netif* nif = &impl_->netif;
    // Notes §6.3: ERR_OK means lwIP owns p now; on any error it is still ours to free.
    if (nif->input(p, nif) != ERR_OK) {
        pbuf_free(p);
        return drop(InjectDrop::kRejected);
    }
    ++stats_.delivered_packets;
    return {};
}

void Stack::set_heap_limit_bytes(std::size_t bytes) {
    config_.heap_limit_bytes = bytes;
    port::state().heap_limit_bytes = bytes;
}

void Stack::begin_ack_batch() {
#if TUNLESS_LWIP_STRETCH_ACKS
    tcp_ack_batching = 1;
#endif
}

void Stack::flush_acks() {
#if TUNLESS_LWIP_STRETCH_ACKS
    EntryGuard guard;
    tcp_ack_batching = 0;
    tcp_flush_batched_acks();
#endif
}

void Stack::set_now(Instant now) {
    if (now > now_) {
        now_ = now;
        port::state().now_ms = to_ms32(now);
    }
}

void Stack::on_timer(Instant now) {
    set_now(now);
    EntryGuard guard;
    sys_check_timeouts();
    last_timer_run_ = now_;
}

Instant Stack::next_deadline() const {
    const u32_t sleep_ms = sys_timeouts_sleeptime();
    if (sleep_ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE) {
        return kNever;
    }
    // sys_now() is now_ truncated to ms, so lwIP's deadline is relative to that truncation.
    const auto base = std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch());
    const Instant deadline(base + std::chrono::milliseconds(sleep_ms));
    if (housekeeping_only()) {
        return std::max(deadline, last_timer_run_ + kIdleHousekeeping);
    }
    return deadline;
}

}  // namespace tunless::net
