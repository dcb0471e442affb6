// Internal bridge between Stack and the TCP/UDP wrappers: the live Stack, its netif, and the
// object counters behind StackConfig::max_tcp_connections. Internal to netstack/ (lwIP types).
#pragma once

#include "netstack/stack.hpp"

struct netif;

namespace tunless::net {

struct StackAccess {
    static struct netif* netif(Stack& stack);
    // Reserves one of max_tcp_connections; false (and counted) when the cap is reached.
    static bool acquire_tcp_slot(Stack& stack);
    static void release_tcp_slot(Stack& stack);
    static void udp_opened(Stack& stack) { ++stack.stats_.udp_sockets; }
    static void udp_closed(Stack& stack) { --stack.stats_.udp_sockets; }
    static void listener_opened(Stack& stack) { ++stack.stats_.tcp_listeners; }
    static void listener_closed(Stack& stack) { --stack.stats_.tcp_listeners; }
};

}  // namespace tunless::net
