// SIGHUP: re-read the config file and bring the running node in line with it, keeping what
// did not change. An invalid file changes nothing (its errors are logged as file:line).
// Peers are diffed by public key against the running device (so peers added with `wg set`
// and absent from the file are removed, like `wg syncconf`): unchanged peers keep their
// sessions, changed endpoint/allowed IPs/keepalive/PSK go through Device::update_peer, a new
// private key or ListenPort is applied live. Address, MTU and DNS need a restart (logged).
// Proxy/forward sections go to the services' reload hooks (ServiceHooks).
#pragma once

namespace tunless::app {

class Node;

// Returns true when the new config was applied (possibly with "needs a restart" warnings).
bool reload_config(Node& node);

}  // namespace tunless::app
