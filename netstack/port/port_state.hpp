// Process-wide state behind lwIP's port hooks: the time sys_now() reports, the Rng behind
// LWIP_RAND, the heap budget, and the re-entrancy flags LWIP_ASSERT_CORE_LOCKED checks.
// Written only by net::Stack (there is one lwIP per process, hence one PortState); read by
// port_hooks.cpp from inside lwIP. Internal to netstack/: never include it from a public header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <thread>

#include "core/base/rng.hpp"

namespace tunless::net::port {

struct PortState {
    std::uint32_t now_ms = 0;  // sys_now(): the last Instant the loop gave the Stack, in ms
    Rng* rng = nullptr;        // LWIP_RAND(); set before lwip_init() (ephemeral ports, ISNs)
    std::size_t heap_limit_bytes = std::numeric_limits<std::size_t>::max();
    std::uint64_t heap_refusals = 0;  // allocations refused by the budget (lwIP sees ERR_MEM)
    bool in_egress = false;           // inside EgressSink::on_egress: lwIP must not be entered
    bool in_stack_entry = false;      // inside inject()/on_timer(): those must not nest
    std::thread::id owner;            // the loop thread; default id = not bound yet
};

PortState& state();

}  // namespace tunless::net::port
