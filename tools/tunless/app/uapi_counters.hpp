// The `get=tunless` reply of the control socket: tunless-specific state wg(8) does not know
// (named drop counters, transport and netstack counters, per-peer session state, service
// counters from ServiceHooks) as flat key=value pairs. Key reference: docs/operations.md.
#pragma once

#include <string>

#include "core/uapi/uapi_protocol.hpp"

namespace tunless::app {

class Node;

uapi::KeyValues tunless_counters(Node& node, const std::string& interface_name);

}  // namespace tunless::app
