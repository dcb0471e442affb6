// The device side of the UAPI: the running Node's state as a `get` reply, and `set`
// operations (core/uapi) applied to the wg::Device and the UDP transport with wireguard-go's
// semantics (device/uapi.go): operations run in order, a peer section is committed when the
// next one starts or the request ends, a failure keeps what was applied before it.
// Called by app::UapiServer.
#pragma once

#include <string>
#include <vector>

#include "core/uapi/uapi_protocol.hpp"

namespace tunless::app {

class Node;

uapi::DeviceInfo device_info(Node& node);

struct ApplyResult {
    int errno_value = 0;  // 0 or a negative uapi::kErr* value
    std::string message;  // why, for the log (no key material)
};

ApplyResult apply_set(Node& node, const std::vector<uapi::SetOp>& ops);

}  // namespace tunless::app
