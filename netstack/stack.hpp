// net::Stack: the process's single lwIP instance (NO_SYS=1) with one IP-only interface that
// carries the mesh's decrypted packets. IP packets come in through inject() and leave through
// the EgressSink; TCP/UDP endpoints on top are TcpListener/TcpConnection/UdpSocket.
// It is not a router and has no clock: the loop passes `now` (on_timer/set_now) and asks
// next_deadline(). Owned by app::Daemon, created once per process (lwIP state is global).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"

namespace tunless::net {

// Where lwIP's outgoing IP packets go (the daemon encrypts them for the right peer and sends).
class EgressSink {
public:
    virtual ~EgressSink() = default;
    // One complete IPv4 or IPv6 packet, at most the configured MTU (lwIP fragments larger
    // datagrams). Called synchronously from inside lwIP: from inject(), on_timer(), and from
    // every TcpConnection/UdpSocket call that transmits. `ip_packet` is valid only during the
    // call; copy what you keep. The sink must not call back into the Stack, a TcpConnection, a
    // TcpListener or a UdpSocket (checked: aborts). To loop a packet back, queue it and
    // inject() it on a later loop turn.
    virtual void on_egress(ByteView ip_packet) = 0;
};

// Why inject() refused a packet before lwIP saw it (the packet came from an authenticated peer,
// but its contents are still peer-controlled: counted, never an assert).
enum class InjectDrop : std::uint8_t {
    kEmpty,       // zero-length packet
    kTooShort,    // shorter than the fixed IPv4 (20) / IPv6 (40) header
    kTooLarge,    // longer than 65535 bytes
    kBadVersion,  // IP version nibble is neither 4 nor 6
    kNoMemory,    // no pbuf (heap budget reached)
    kRejected,    // lwIP's input returned an error
};
inline constexpr std::size_t kInjectDropCount = 6;
std::string_view inject_drop_name(InjectDrop reason);

struct StackConfig {
    static constexpr std::uint16_t kDefaultMtu = 1420;  // wg-quick's default tunnel MTU
    static constexpr std::size_t kMaxIpv4Addresses = 1;  // lwIP: one IPv4 address per netif
    static constexpr std::size_t kMaxIpv6Addresses = 4;  // LWIP_IPV6_NUM_ADDRESSES

    // The node's own addresses (cfg::InterfaceAddress::address; plain addresses, not IpPrefix,
    // which would mask the host part away -- the prefix length has no use on a point-to-point
    // interface that is the default route). At most one IPv4 and four IPv6; at least one.
    // lwIP answers (TCP, UDP, ICMP echo) on all of them.
    std::vector<IpAddress> addresses;
    // Allow an empty `addresses` at create(): a tailnet node learns its addresses from control
    // and sets them with set_addresses(); until then lwIP answers on none.
    bool addresses_later = false;
    // Tunnel MTU: 576..65535, and >= 1280 when an IPv6 address is configured (RFC 8200 §5).
    // TCP_MSS is compiled for 1420; a smaller MTU shrinks the MSS, a larger one does not grow it.
    std::uint16_t mtu = kDefaultMtu;
    static constexpr std::size_t kDefaultHeapLimitBytes = std::size_t{16} * 1024 * 1024;
    static constexpr std::uint32_t kDefaultMaxTcpConnections = 1024;
    // The last kHeapReserveBytes of heap_limit_bytes only serve allocations of at most
    // kHeapReserveMaxAlloc bytes (ACK/SYN/RST pbufs, pcbs): when queued data fills the budget,
    // data packets are dropped but ACKs still flow both ways, so full send buffers drain.
    static constexpr std::size_t kHeapReserveBytes = std::size_t{64} * 1024;
    static constexpr std::size_t kHeapReserveMaxAlloc = 512;
    // Cap on all memory lwIP allocates (pbufs, pcbs, segments), shared by every connection;
    // see docs/adr/0001-lwip-memory.md. Windows reserve nothing: an idle connection costs its
    // pcb (~0.3 KiB) of it, a busy one what it has queued (at most ~256 KiB each way).
    std::size_t heap_limit_bytes = kDefaultHeapLimitBytes;
    // Cap on live TcpConnection objects (inbound + outbound). Beyond it connect() fails with
    // kLimitReached and inbound SYNs get RST; existing connections are not touched.
    std::uint32_t max_tcp_connections = kDefaultMaxTcpConnections;
};

// lwIP's own counters (LWIP_STATS), summed per topic.
struct LwipCounters {
    std::uint64_t ip4_drops = 0;     // bad header/length/protocol, not for us
    std::uint64_t ip6_drops = 0;
    std::uint64_t frag_drops = 0;    // IPv4 + IPv6 reassembly
    std::uint64_t icmp_drops = 0;    // ICMP + ICMPv6 + ND6
    std::uint64_t udp_drops = 0;
    std::uint64_t tcp_drops = 0;
    std::uint64_t tcp_mem_errors = 0;
    // How lost segments we sent were repaired (netstack/patches/lwip-tcp-tail-loss.patch;
    // zero with an unpatched lwIP).
    std::uint64_t tcp_fast_recoveries = 0;  // 3 duplicate ACKs or SACK evidence
    std::uint64_t tcp_sack_resends = 0;     // segments SACK showed lost
    std::uint64_t tcp_probes = 0;           // tail loss probes
    std::uint64_t tcp_timeouts = 0;         // retransmission timeouts
    std::uint64_t heap_errors = 0;   // mem_malloc failures (budget or malloc)
    std::uint64_t pool_errors = 0;   // memp_malloc failures, all pool types
    std::size_t heap_used_bytes = 0;
    std::size_t heap_peak_bytes = 0;
};

struct StackStats {
    std::uint64_t injected_packets = 0;   // inject() calls
    std::uint64_t injected_bytes = 0;
    std::uint64_t delivered_packets = 0;  // accepted by lwIP's input (lwIP may still drop: see lwip)
    std::array<std::uint64_t, kInjectDropCount> dropped{};  // indexed by InjectDrop
    std::uint64_t egress_packets = 0;
    std::uint64_t egress_bytes = 0;
    std::uint64_t egress_chained = 0;     // multi-pbuf packets copied out before egress
    std::uint64_t heap_budget_refusals = 0;
    std::uint32_t tcp_connections = 0;    // live TcpConnection objects
    std::uint64_t tcp_refused_limit = 0;  // connects/accepts refused by max_tcp_connections
    std::uint32_t tcp_listeners = 0;
    std::uint32_t udp_sockets = 0;
    LwipCounters lwip;

    std::uint64_t dropped_total() const;
};

class Stack {
public:
    // Initialises lwIP and brings the interface up with `config.addresses` (IPv6 ones valid at
    // once: no DAD, no neighbour discovery). Exactly one Stack per process, ever (lwIP cannot be
    // re-initialised): a second create() aborts. `egress` and `rng` must outlive the Stack;
    // `now` seeds sys_now(). Must be called on the loop thread, which lwIP then asserts.
    static Result<std::unique_ptr<Stack>> create(const StackConfig& config, EgressSink& egress,
                                                 Rng& rng, Instant now);
    // All TcpListener/TcpConnection/UdpSocket objects must be destroyed first (checked).
    ~Stack();
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    // Feeds one decrypted IP packet (trailing WireGuard padding is trimmed by lwIP using the IP
    // length field). The packet is copied; lwIP may answer synchronously through the egress.
    // On refusal the drop is already counted in stats(); the returned error only names it.
    // Not callable from inside a netstack callback or the egress hook (checked).
    Status inject(ByteView ip_packet);

    // ACK batching: after begin_ack_batch(), the ACK lwIP owes for every second full segment
    // waits until flush_acks(), so a batch of received packets costs one ACK per connection
    // instead of one per two segments (netstack/patches/lwip-tcp-stretch-acks.patch). The
    // caller must flush at the end of its batch; lwIP's 250 ms delayed-ACK timer is only the
    // safety net. Without the patched lwIP both are no-ops. Not callable from callbacks.
    void begin_ack_batch();
    void flush_acks();

    // Time: sys_now() reports the last `now` given here (monotonic; earlier values are ignored).
    // The loop calls on_timer(now) when next_deadline() has passed -- calling it every turn is
    // cheap -- and may call set_now(now) before inject() so lwIP's timestamps are fresh.
    void set_now(Instant now);
    void on_timer(Instant now);
    // Earliest instant lwIP's timers are due. TCP timers tick every 100 ms while TCP pcbs exist
    // (TIME_WAIT included), reassembly every second while fragments are held; otherwise only
    // housekeeping remains and the deadline is at most one per 30 s.
    Instant next_deadline() const;
    Instant now() const { return now_; }

    // Replaces the node's addresses at run time (same limits as StackConfig::addresses; empty
    // allowed). TCP connections bound to an address that goes away are aborted by lwIP.
    // Not callable from inside a netstack callback or the egress hook.
    Status set_addresses(const std::vector<IpAddress>& addresses);

    StackStats stats() const;
    const StackConfig& config() const { return config_; }
    // Changes the heap budget at run time (tests; an operator lowering it later). Lowering it
    // below what is in use frees nothing: new allocations are refused until enough is freed.
    void set_heap_limit_bytes(std::size_t bytes);

private:
    struct Impl;  // lwIP's netif and the egress scratch buffer (keeps lwIP out of this header)
    Stack(const StackConfig& config, EgressSink& egress, Instant now);
    Status bring_up();
    void apply_addresses();

    StackConfig config_;
    EgressSink& egress_;
    Instant now_;
    Instant last_timer_run_;
    StackStats stats_;
    std::unique_ptr<Impl> impl_;
    friend struct StackAccess;
};

}  // namespace tunless::net
