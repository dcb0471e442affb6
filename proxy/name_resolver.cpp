#include "proxy/name_resolver.hpp"

#include "proxy/limits.hpp"

namespace tunless::proxy {

SystemResolver::SystemResolver(io::EventLoop& loop)
    : resolver_(loop, {.poll_interval = kResolvePollInterval,
                       .timeout = kResolveTimeout,
                       .max_in_flight = kMaxPendingResolves}) {}

}  // namespace tunless::proxy
