// The proxy/forward part of a SIGHUP reload: matches the listener sections of the running
// config and the new file (cfg::diff_listeners), hands the TCP entries to proxy::Services and
// the UDP entries to proxy::UdpServices, logs listeners that could not be put into effect as
// file:line, and records in the running config what really runs. [Resolve] ResolveStrategy
// needs a restart. Registered by run_daemon as a ServiceHooks reload handler.
#pragma once

#include "proxy/services.hpp"
#include "proxy/udp_services.hpp"
#include "tools/tunless/app/service_hooks.hpp"

namespace tunless::app {

// The handler; `tcp` and `udp` must outlive every reload (run_daemon destroys them only after
// the loop stopped).
ReloadHandler service_reload_handler(proxy::Services& tcp, proxy::UdpServices& udp);

}  // namespace tunless::app
