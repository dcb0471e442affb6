/*
 * lwIP configuration for tunless: one IP-only interface fed by decrypted WireGuard packets,
 * raw API only, NO_SYS, one thread. Every option lwIP reads is set here explicitly, each with a
 * one-line reason (engineering notes §6, §7.7; the memory model is docs/adr/0001-lwip-memory.md).
 * Not a place for code: the hooks named below live in netstack/port/*.cpp.
 * Test and fuzz builds override options in an optional lwipopts_local.h (see the end).
 */
#ifndef TUNLESS_LWIPOPTS_H
#define TUNLESS_LWIPOPTS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
/* Port hooks (netstack/port/port_hooks.cpp). */
void tunless_lwip_assert_core_locked(void);
void* tunless_lwip_malloc(size_t size);
/* The Internet checksum lwIP computes for every segment it sends (netstack/port/internet_checksum.cpp). */
unsigned short tunless_internet_checksum(const void* data, int len);
#ifdef __cplusplus
}
#endif

/* ---- System model ------------------------------------------------------------------------ */
#define NO_SYS                          1   /* one epoll thread calls lwIP; no OS layer */
#define LWIP_TIMERS                     1   /* lwIP's own timeout list; the loop asks sys_timeouts_sleeptime */
#define LWIP_TIMERS_CUSTOM              0   /* the stock timeout list is enough */
#define SYS_LIGHTWEIGHT_PROT            0   /* single thread: nothing to protect */
#define LWIP_ASSERT_CORE_LOCKED()       tunless_lwip_assert_core_locked() /* loop thread, not inside our egress hook */
#define LWIP_NETCONN                    0   /* raw API only */
#define LWIP_SOCKET                     0   /* raw API only */
#define LWIP_NETIF_API                  0   /* needs NO_SYS=0 */
#define LWIP_CALLBACK_API               1   /* C callbacks -> our C++ objects via tcp_arg */
#define LWIP_EVENT_API                  0   /* exactly one of the two APIs */
#define LWIP_ALTCP                      0   /* no TLS-over-lwIP; TLS lives in transports/ */
#define LWIP_TCPIP_CORE_LOCKING         0   /* no tcpip thread */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1 /* no htons() macros leaking into C++ code */

/* ---- Memory (ADR 0001: malloc-backed, capped by us) -------------------------------------- */
#define MEM_LIBC_MALLOC                 1   /* heap = malloc; memory grows with use, not reserved up front */
#define mem_clib_malloc                 tunless_lwip_malloc /* enforces StackConfig::heap_limit_bytes */
#define mem_clib_free                   free    /* plain free; accounting is lwIP's mem stats */
#define mem_clib_calloc                 calloc  /* unused while MEM_STATS is on (mem_calloc wraps mem_malloc) */
#define MEMP_MEM_MALLOC                 1   /* pools come from the same capped heap */
#define MEM_USE_POOLS                   0   /* incompatible with MEM_LIBC_MALLOC */
#define MEMP_USE_CUSTOM_POOLS           0   /* no custom pools */
#define MEM_ALIGNMENT                   8   /* malloc returns at least 8-aligned memory on every Linux ABI we target */
#define MEM_SIZE                        (16 * 1024 * 1024) /* informational only with MEM_LIBC_MALLOC (runtime cap: StackConfig::heap_limit_bytes) */
#define MEMP_OVERFLOW_CHECK             0   /* production; lwipopts_local.h turns it on for fuzzing */
#define MEMP_SANITY_CHECK               0   /* only meaningful for fixed pools */
#define MEM_OVERFLOW_CHECK              0   /* only for lwIP's own heap, which we do not use */
#define MEM_SANITY_CHECK                0   /* only for lwIP's own heap */
#define LWIP_ALLOW_MEM_FREE_FROM_OTHER_CONTEXT 0 /* one thread */
/* MEMP_NUM_* and PBUF_POOL_SIZE cap nothing with MEMP_MEM_MALLOC (ADR 0001: our own caps do);
 * they are what a fixed-pool build (MEMP_MEM_MALLOC 0 in lwipopts_local.h, for a very small
 * target) would start from, and they pass init.c's checks in that mode too. */
#define MEMP_NUM_PBUF                   64  /* PBUF_REF/ROM headers: UdpSocket sends by reference */
#define MEMP_NUM_RAW_PCB                1   /* raw API off */
#define MEMP_NUM_UDP_PCB                64  /* UDP forwards + flows */
#define MEMP_NUM_TCP_PCB                512 /* connections + TIME_WAIT allowance */
#define MEMP_NUM_TCP_PCB_LISTEN         32  /* listeners (forwards) */
#define MEMP_NUM_TCP_SEG                (4 * TCP_SND_QUEUELEN) /* >= TCP_SND_QUEUELEN (init.c) */
#define MEMP_NUM_REASSDATA              16  /* datagrams under reassembly (IPv4) */
#define MEMP_NUM_FRAG_PBUF              32  /* unused with LWIP_NETIF_TX_SINGLE_PBUF */
#define MEMP_NUM_SYS_TIMEOUT            LWIP_NUM_SYS_TIMEOUT_INTERNAL /* exactly lwIP's internal timers */
#define MEMP_NUM_ARP_QUEUE              1   /* no ARP */
#define MEMP_NUM_IGMP_GROUP             1   /* no IGMP */
#define MEMP_NUM_ND6_QUEUE              1   /* no neighbour resolution on our netif */
#define MEMP_NUM_MLD6_GROUP             1   /* no MLD */
#define PBUF_POOL_SIZE                  256 /* unused: inject() allocates exact-size PBUF_RAM; >= TCP_WND for pool builds */
#define PBUF_POOL_BUFSIZE               LWIP_MEM_ALIGN_SIZE(TCP_MSS + 40 + PBUF_LINK_HLEN) /* unused; lwIP's formula */
#define PBUF_LINK_HLEN                  0   /* no link layer: packets are bare IP */
#define PBUF_LINK_ENCAPSULATION_HLEN    0   /* egress copies out; no in-place WireGuard header */
#define LWIP_PBUF_REF_T                 u8_t /* lwIP default; refs never exceed a handful */

/* ---- Interface ---------------------------------------------------------------------------- */
#define LWIP_SINGLE_NETIF               1   /* one tunnel interface: no routing table code */
#define LWIP_ARP                        0   /* no link layer */
#define LWIP_ETHERNET                   0   /* no link layer */
#define ETH_PAD_SIZE                    0   /* no Ethernet */
#define LWIP_NETIF_HOSTNAME             0   /* no DHCP */
#define LWIP_NETIF_STATUS_CALLBACK      0   /* the netif is up for the Stack's whole life */
#define LWIP_NETIF_EXT_STATUS_CALLBACK  0   /* same */
#define LWIP_NETIF_LINK_CALLBACK        0   /* same */
#define LWIP_NETIF_REMOVE_CALLBACK      0   /* same */
#define LWIP_NETIF_HWADDRHINT           0   /* no ARP */
#define LWIP_NETIF_LOOPBACK             0   /* a packet to our own address goes to egress, like any other */
#define LWIP_HAVE_LOOPIF                0   /* no 127.0.0.1 inside the mesh stack */
#define LWIP_LOOPBACK_MAX_PBUFS         0   /* no loopback */
#define LWIP_NETIF_TX_SINGLE_PBUF       1   /* TCP segments and fragments leave contiguous (egress stays chain-safe anyway) */
#define LWIP_NUM_NETIF_CLIENT_DATA      0   /* no per-netif client data */
#define LWIP_CHECKSUM_CTRL_PER_NETIF    0   /* one netif, global checksum policy below */

/* ---- IPv4 --------------------------------------------------------------------------------- */
#define LWIP_IPV4                       1   /* mesh addresses are IPv4 and IPv6 */
#define IP_FORWARD                      0   /* we terminate traffic, never route it */
#define IP_REASSEMBLY                   1   /* peers may fragment (inner MTU differences) */
#define IP_FRAG                         1   /* UDP datagrams above the tunnel MTU */
#define IP_OPTIONS_ALLOWED              1   /* accept (and ignore) IP options rather than drop */
#define IP_REASS_MAXAGE                 5   /* seconds; tunnel reordering is sub-ms, bounds held memory */
#define IP_REASS_MAX_PBUFS              64  /* global cap on fragments held (per family), ~96 KB */
#define IP_DEFAULT_TTL                  64  /* Linux default */
#define IP_SOF_BROADCAST                0   /* no broadcast on a point-to-point tunnel */
#define IP_SOF_BROADCAST_RECV           0   /* same */
#define IP_FORWARD_ALLOW_TX_ON_RX_NETIF 0   /* no forwarding */
/* Ephemeral TCP/UDP ports start at LWIP_RAND() (tcp_init/udp_init); LWIP_RAND is in arch/cc.h. */
#define LWIP_ICMP                       1   /* echo replies and port-unreachable come from lwIP */
#define ICMP_TTL                        64  /* Linux default */
#define LWIP_BROADCAST_PING             0   /* no broadcast */
#define LWIP_MULTICAST_PING             0   /* no multicast */
#define LWIP_RAW                        0   /* no raw pcbs; ICMP echo is answered by the core */
#define LWIP_DHCP                       0   /* addresses come from the config */
#define LWIP_AUTOIP                     0   /* same */
#define LWIP_IGMP                       0   /* no multicast */
#define LWIP_DNS                        0   /* DNS goes through the proxy / host resolver */
#define LWIP_MULTICAST_TX_OPTIONS       0   /* no multicast */

/* ---- IPv6 --------------------------------------------------------------------------------- */
#define LWIP_IPV6                       1   /* mesh addresses are IPv4 and IPv6 */
#define LWIP_IPV6_NUM_ADDRESSES         4   /* a node has one or two mesh IPv6 addresses; bounded scans */
#define LWIP_IPV6_FORWARD               0   /* we terminate traffic, never route it */
#define LWIP_IPV6_FRAG                  1   /* UDP datagrams above the tunnel MTU */
#define LWIP_IPV6_REASS                 1   /* peers may fragment */
#define IPV6_REASS_MAXAGE               5   /* seconds; same reasoning as IP_REASS_MAXAGE */
#define IPV6_FRAG_COPYHEADER            1   /* 64-bit pointers do not fit the 8-byte header lwIP reuses (ip6_frag.c asserts) */
#define LWIP_IPV6_SCOPES                0   /* single netif: no zones needed */
#define LWIP_IPV6_AUTOCONFIG            0   /* addresses come from the config */
#define LWIP_IPV6_ADDRESS_LIFETIMES     0   /* configured addresses never expire */
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS   0   /* no DAD: addresses are set PREFERRED directly */
#define LWIP_IPV6_SEND_ROUTER_SOLICIT   0   /* no routers on the tunnel */
#define LWIP_IPV6_MLD                   0   /* no multicast listeners */
#define LWIP_IPV6_DHCP6                 0   /* addresses come from the config */
#define LWIP_ICMP6                      1   /* required by IPv6: echo replies, errors */
#define LWIP_ICMP6_DATASIZE             0   /* 0 = as much as fits 1280 bytes (RFC 4443 §2.4 MUST) */
#define LWIP_ICMP6_HL                   64  /* hop limit of our ICMPv6 messages */
#define LWIP_ND6_QUEUEING               0   /* output_ip6 gets packets directly: no neighbour queue */
#define LWIP_ND6_NUM_NEIGHBORS          2   /* nd6 tables exist but are never used for our netif */
#define LWIP_ND6_NUM_DESTINATIONS       8   /* destination cache: only for Packet-Too-Big PMTU */
#define LWIP_ND6_NUM_PREFIXES           1   /* no on-link prefixes learned */
#define LWIP_ND6_NUM_ROUTERS            1   /* no routers learned */
#define LWIP_ND6_MAX_MULTICAST_SOLICIT  3   /* lwIP default; unused without resolution */
#define LWIP_ND6_MAX_UNICAST_SOLICIT    3   /* lwIP default; unused without resolution */
#define LWIP_ND6_MAX_ANYCAST_DELAY_TIME 1000 /* lwIP default */
#define LWIP_ND6_MAX_NEIGHBOR_ADVERTISEMENT 3 /* lwIP default */
#define LWIP_ND6_REACHABLE_TIME         30000 /* lwIP default */
#define LWIP_ND6_RETRANS_TIMER          1000 /* lwIP default */
#define LWIP_ND6_DELAY_FIRST_PROBE_TIME 5000 /* lwIP default */
#define LWIP_ND6_ALLOW_RA_UPDATES       0   /* a peer's Router Advertisement must not change our MTU */
#define LWIP_ND6_TCP_REACHABILITY_HINTS 0   /* no neighbour cache to hint */
#define LWIP_ND6_RDNSS_MAX_DNS_SERVERS  0   /* no DNS */

/* ---- Checksums (engineering notes §6.7) ---------------------------------------------------- */
/* WireGuard's AEAD already authenticated every inner byte; the kernel's wg skips these too. */
#define CHECKSUM_CHECK_IP               0   /* AEAD-authenticated */
#define CHECKSUM_CHECK_UDP              0   /* AEAD-authenticated */
#define CHECKSUM_CHECK_TCP              0   /* AEAD-authenticated */
#define CHECKSUM_CHECK_ICMP             0   /* AEAD-authenticated */
#define CHECKSUM_CHECK_ICMP6            0   /* AEAD-authenticated */
/* Peers (wireguard-go + gVisor, non-Linux stacks) may verify, so we always generate. */
#define CHECKSUM_GEN_IP                 1   /* peers may verify */
#define CHECKSUM_GEN_UDP                1   /* peers may verify */
#define CHECKSUM_GEN_TCP                1   /* peers may verify */
#define CHECKSUM_GEN_ICMP               1   /* peers may verify */
#define CHECKSUM_GEN_ICMP6              1   /* peers may verify */
#define LWIP_CHECKSUM_ON_COPY           1   /* checksum while tcp_write copies: one pass over the data */
#define LWIP_CHKSUM                     tunless_internet_checksum /* 8 bytes per step: 4x lwIP's algorithm 3, which took 4 % of the daemon's CPU where lwIP sends */

/* ---- UDP ---------------------------------------------------------------------------------- */
#define LWIP_UDP                        1   /* UdpSocket, UDP forwards */
#define LWIP_UDPLITE                    0   /* nobody uses it */
#define UDP_TTL                         64  /* Linux default */
#define LWIP_NETBUF_RECVINFO            0   /* netconn only */

/* ---- TCP ---------------------------------------------------------------------------------- */
#define LWIP_TCP                        1   /* proxies and forwards */
#define TCP_TTL                         64  /* Linux default */
/* Tunnel MTU 1420 (wg-quick default) - 40 (IPv6 header, the worst case) - 20 (TCP header).
 * IPv4 connections could use 1380; one constant keeps both families safe (1.4% for IPv4). */
#define TCP_MSS                         1360
#define TCP_CALCULATE_EFF_SEND_MSS      1   /* clamp to a smaller configured MTU and the peer's MSS */
/* Window: hundreds of MB/s at ~0.1 ms tunnel RTT plus loop batching (~0.5 ms effective) needs a
 * bandwidth-delay product of ~100-250 KB. 256 KiB per direction per connection; the budget per
 * connection is documented in ADR 0001. */
#define LWIP_WND_SCALE                  1   /* windows above 64 KiB (RFC 7323) */
#define TCP_RCV_SCALE                   3   /* 0xFFFF << 3 = 512 KiB >= TCP_WND (init.c check) */
#define TCP_WND                         (256 * 1024) /* receive window = max unconsumed bytes held per connection */
#define TCP_SND_BUF                     (256 * 1024) /* max bytes write() accepts before backpressure */
#define TCP_SND_QUEUELEN                ((2 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS) /* init.c: >= 2*SND_BUF/MSS */
#define TCP_SNDLOWAT                    (32 * 1024) /* netconn-only; must stay < 0xFFFF - 4*MSS (init.c) */
#define TCP_SNDQUEUELOWAT               (TCP_SND_QUEUELEN / 2) /* netconn-only; lwIP's formula */
#define TCP_WND_UPDATE_THRESHOLD        (TCP_WND / 4) /* pure window update per 64 KiB consumed (4 MSS when the peer is nearly out of window: netstack/patches/lwip-tcp-window-update.patch) */
#define TCP_OVERSIZE                    TCP_MSS /* small writes fill one MSS-sized pbuf (needed by TX_SINGLE_PBUF) */
#define TCP_QUEUE_OOSEQ                 1   /* keep out-of-order segments: loss recovery without full resend */
#define TCP_OOSEQ_MAX_BYTES             TCP_WND /* never more than the window we advertised */
#define TCP_OOSEQ_MAX_PBUFS             256 /* caps per-segment overhead of tiny out-of-order segments */
#define LWIP_TCP_SACK_OUT               1   /* tell the peer what we hold out of order (since lwIP 2.1.0) */
#define LWIP_TCP_MAX_SACK_NUM           4   /* RFC 2018: at most 4 blocks fit the option space */
#define TCP_LISTEN_BACKLOG              1   /* bound half-open connections per listener */
#define SO_REUSE                        1   /* re-listen while accepted/TIME_WAIT pcbs hold the port (TcpListener) */
#define SO_REUSE_RXTOALL                0   /* no multicast/broadcast fan-out */
#define TCP_DEFAULT_LISTEN_BACKLOG      32  /* half-open connections per listener (SYN flood bound) */
#define TCP_MAXRTX                      12  /* lwIP default; dead peers are caught by the caller's idle timeout */
#define TCP_SYNMAXRTX                   12  /* SYN_SENT keeps the initial 1 s RTO, no backoff: connect() fails after ~13 s (12 = init.c max) */
#define TCP_MSL                         15000 /* TIME_WAIT = 2*MSL = 30 s: sub-ms tunnel, bounds TIME_WAIT pcbs */
#define TCP_TMR_INTERVAL                50  /* delayed-ACK bound 50 ms; RTO tick 100 ms (wakes 20/s only while TCP pcbs exist) */
#define TCP_RTO_MIN_MS                  200 /* netstack/patches: RTO floor 200 ms as Linux (lwIP's truncation made it 600+ ms) */
#define LWIP_TCP_TIMESTAMPS             0   /* 12 bytes per segment; RTTM is moot with a 100 ms RTO tick */
#define LWIP_TCP_KEEPALIVE              0   /* idle detection is the caller's (TcpConnection::last_activity) */
#define LWIP_TCP_PCB_NUM_EXT_ARGS       0   /* tcp_arg is enough */
/* Random ISNs from the injected Rng (RFC 6528 §3 allows a random ISN); lwIP's default
 * (a counter plus ticks) is predictable. */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) LWIP_RAND()

/* ---- Statistics (failures must be visible: StackStats exposes these) --------------------- */
#define LWIP_STATS                      1   /* pool/heap/protocol error counters for StackStats */
#define LWIP_STATS_LARGE                1   /* 32-bit counters: 16-bit ones wrap in a second at our rates */
#define LWIP_STATS_DISPLAY              0   /* no printf */
#define LINK_STATS                      0   /* no link layer */
#define ETHARP_STATS                    0   /* no ARP */
#define IP_STATS                        1   /* IPv4 drops */
#define IPFRAG_STATS                    1   /* IPv4 reassembly drops */
#define ICMP_STATS                      1   /* ICMP drops */
#define IGMP_STATS                      0   /* no IGMP */
#define UDP_STATS                       1   /* UDP drops */
#define TCP_STATS                       1   /* TCP drops and memory errors */
#define MEM_STATS                       1   /* heap bytes in use: the budget hook reads it */
#define MEMP_STATS                      1   /* per-type allocation errors */
#define SYS_STATS                       0   /* no OS layer */
#define IP6_STATS                       1   /* IPv6 drops */
#define ICMP6_STATS                     1   /* ICMPv6 drops */
#define IP6_FRAG_STATS                  1   /* IPv6 reassembly drops */
#define MLD6_STATS                      0   /* no MLD */
#define ND6_STATS                       1   /* ND messages peers send us */
#define MIB2_STATS                      0   /* no SNMP */
#define LWIP_PERF                       0   /* no perf hooks */

/* ---- Debugging ----------------------------------------------------------------------------- */
#define LWIP_DBG_MIN_LEVEL              LWIP_DBG_LEVEL_ALL /* only matters with LWIP_DEBUG */
#define LWIP_DBG_TYPES_ON               LWIP_DBG_ON /* only matters with LWIP_DEBUG */

/* Optional overrides for test/fuzz builds: CMake defines TUNLESS_LWIPOPTS_LOCAL and puts a
 * directory holding lwipopts_local.h on the include path (TUNLESS_LWIPOPTS_LOCAL_DIR). The file
 * #undefs and redefines what it changes. init.c's sanity #errors still apply. */
#ifdef TUNLESS_LWIPOPTS_LOCAL
#include "lwipopts_local.h"
#endif

#endif /* TUNLESS_LWIPOPTS_H */
