// netstack_ip_fuzz: IP packets (IPv4/IPv6, fragments, TCP with options, UDP, ICMP/ICMPv6) with
// time deltas injected into the process's one net::Stack, which has a TCP echo listener, a UDP
// echo socket and a pending outbound connect. Format and per-input reset: netstack_fuzz_env.hpp.
// Oracle: every egress packet is a whole IP packet of at most the MTU with consistent lengths;
// lwIP's own asserts (LWIP_ASSERT -> abort in our port) and the Stack's invariant checks.
#include <cstddef>
#include <cstdint>

#include "fuzz/netstack_fuzz_env.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    tunless::fuzz::netstack::run_input(tunless::ByteView(data, size));
    return 0;
}
