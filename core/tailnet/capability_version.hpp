// The Tailscale capability version ("capver") this client claims: the single place to bump it.
// It is sent as the ts2021 Noise protocol version (initiation header + prologue), in `GET
// /key?v=`, and as `Version` in RegisterRequest/MapRequest bodies. Callers: control_noise,
// http1 request builders, the tailcfg JSON writers.
#pragma once

#include <cstdint>

namespace tunless::tailnet {

// 130 is what tailscale-rs ships (ts_capabilityversion/src/lib.rs); MicroLink claims 131 and
// Go is at 145 (tailscale tailcfg/tailcfg.go). Claiming N promises we honour every semantic
// change up to N, notably: map deltas and PeersChangedPatch, the PacketFilters named map (81),
// Stream:true may ignore Hostinfo/Endpoints (68), HomeDERP instead of the DERP string (111),
// nil AllowedIPs = Addresses (112), "cap:" SrcIPs (109), DERPRegion.NoMeasureNoHome (115).
// headscale accepts only its last ten minor releases (hscontrol/capver, minimum 113 in
// v0.29) and the minimum rises with every release, so this number has to be raised
// deliberately over time, after checking the tailcfg changelog. Stay below 144 until TSMP
// disco-key advertisements are understood.
inline constexpr std::uint16_t kCapabilityVersion = 130;

}  // namespace tunless::tailnet
