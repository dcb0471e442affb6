// PeerId: the opaque, stable handle the WireGuard core uses to name a peer in its tables
// (allowed IPs, index table) instead of pointers. Assigned by wg::Device; never reused while
// the peer exists. Not a public key and not an index into anything outside core/wg.
#pragma once

#include <cstdint>

namespace tunless::wg {

using PeerId = std::uint32_t;

}  // namespace tunless::wg
