// The one net::Stack of a netstack fuzz process and what it runs each input against: node
// addresses 10.0.0.1 and fd00::1, a TCP echo listener on port 80, a UDP echo socket on port 53
// and, per input, one outbound connect to 10.0.0.2:8080 (so a crafted SYN/ACK reaches the
// active-open path). Input format after lwIP's test/fuzz "multi-packet with time" mode
// (engineering notes §6.8): records [u32 delay ms LE][u16 length LE][bytes], the delay capped
// at kMaxDelayMs; lwIP's timers run before and after each packet.
// lwIP state is global, so the Stack lives for the process. To keep inputs independent, each
// input starts with the port's Rng reseeded (same ISNs every time) and ends by aborting every
// connection and letting virtual time pass kSettle, which expires SYN_RCVD, TIME_WAIT and
// reassembly state. Used by netstack_ip_fuzz.cpp and the seed writer.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/time.hpp"

namespace tunless::fuzz::netstack {

inline constexpr std::uint32_t kMaxDelayMs = 5000;
inline constexpr Duration kSettle = std::chrono::seconds(150);
inline constexpr std::uint16_t kTcpPort = 80;
inline constexpr std::uint16_t kUdpPort = 53;
inline constexpr std::uint16_t kOutboundPort = 8080;
inline constexpr std::uint16_t kMtu = 1420;

IpAddress node4();
IpAddress node6();
IpAddress remote4();  // the outbound connect's destination

// Runs one input; `egress` (optional) receives a copy of every packet lwIP sent.
void run_input(ByteView input, std::vector<Bytes>* egress = nullptr);

// One record of the input format.
void append_record(Bytes& input, std::uint32_t delay_ms, ByteView packet);

}  // namespace tunless::fuzz::netstack
