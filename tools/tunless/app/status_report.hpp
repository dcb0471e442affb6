// Human-readable counter lines for the log (SIGUSR1 and shutdown): per-peer transfer and
// handshake age, the device's named drop counters, the transport's and the stack's counters.
// Only non-zero drop counters are listed, as "drops: name=count ...".
#pragma once

#include <string>
#include <vector>

#include "core/wg/device.hpp"
#include "netstack/stack.hpp"
#include "transports/udp_transport.hpp"

namespace tunless::app {

std::vector<std::string> status_lines(const wg::Device& device, const io::UdpTransport& udp,
                                      const net::Stack* stack);

}  // namespace tunless::app
