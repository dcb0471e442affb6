// Turns the [Peer] sections of a config into wg::Device peers: resolves endpoint host names
// (blocking, at start-up only; see transports/resolver.hpp) and reports each peer in the log.
#pragma once

#include <vector>

#include "core/base/result.hpp"
#include "core/config/config.hpp"
#include "core/wg/device.hpp"

namespace tunless::app {

// Builds the device-side description of one configured peer. A host name that does not
// resolve leaves the endpoint unset (the peer can still reach us) and is logged.
wg::PeerConfig make_peer_config(const cfg::PeerEntry& entry, const std::string& file);

// Adds every configured peer. Returns the peers to contact at start-up (those with a
// PersistentKeepalive and an endpoint). A device refusal names file:line.
Result<std::vector<wg::PeerId>> add_configured_peers(const cfg::Config& config, wg::Device& device);

}  // namespace tunless::app
