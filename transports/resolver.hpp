// Host name resolution for peer Endpoints and forward targets given by name in the config.
// getaddrinfo is blocking, so this runs only at config load / `up` time and on explicit
// re-resolution, never from inside a loop callback on the data path. The wait is bounded by
// `timeout` (glibc getaddrinfo_a + gai_suspend); on timeout the lookup is abandoned.
// Numeric addresses never touch the resolver.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"

namespace tunless::io {

enum class AddressPreference : std::uint8_t {
    kAny,       // resolver order (RFC 6724 as configured in gai.conf)
    kPreferV4,  // IPv4 addresses first, then IPv6
    kPreferV6,  // IPv6 addresses first, then IPv4
    kOnlyV4,
    kOnlyV6,
};

inline constexpr Duration kDefaultResolveTimeout = std::chrono::seconds(5);

// All addresses of `host` (deduplicated, ordered by `pref`); never empty on success.
// Errors: kNotFound (no such host / no address of the wanted family), kTimedOut, kIo.
Result<std::vector<IpAddress>> resolve_host(std::string_view host,
                                            AddressPreference pref = AddressPreference::kAny,
                                            Duration timeout = kDefaultResolveTimeout);

// The first address of resolve_host as a UDP endpoint with `port`.
Result<Endpoint> resolve_endpoint(std::string_view host, std::uint16_t port,
                                  AddressPreference pref = AddressPreference::kAny,
                                  Duration timeout = kDefaultResolveTimeout);

}  // namespace tunless::io
