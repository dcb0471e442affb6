#include "transports/resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "transports/clock.hpp"
#include "transports/socket_address.hpp"

namespace tunless::io {
namespace {

// One in-flight getaddrinfo_a request. On timeout glibc may still be using it from its
// helper thread (gai_cancel returns EAI_NOTCANCELED), so then it is deliberately leaked:
// a bounded, rare cost at startup instead of a use-after-free.
struct Lookup {
    std::string host;
    addrinfo hints{};
    gaicb cb{};
};

Result<std::vector<IpAddress>> collect(const addrinfo* list, AddressPreference pref) {
    std::vector<IpAddress> out;
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        auto ep = from_socket_address(ai->ai_addr, ai->ai_addrlen);
        if (!ep) {
            continue;
        }
        const bool v4 = ep->ip.is_v4();
        if ((pref == AddressPreference::kOnlyV4 && !v4) ||
            (pref == AddressPreference::kOnlyV6 && v4)) {
            continue;
        }
        if (std::find(out.begin(), out.end(), ep->ip) == out.end()) {
            out.push_back(ep->ip);
        }
    }
    if (pref == AddressPreference::kPreferV4 || pref == AddressPreference::kPreferV6) {
        const bool v4_first = pref == AddressPreference::kPreferV4;
        std::stable_partition(out.begin(), out.end(),
                              [&](const IpAddress& a) { return a.is_v4() == v4_first; });
    }
    if (out.empty()) {
        return fail(Errc::kNotFound, "no address of the requested family");
    }
    return out;
}

Unexpected gai_failure(std::string_view host, int rc) {
    const Errc code = (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY)
                          ? Errc::kNotFound
                          : Errc::kIo;
    return fail(code, "resolve " + std::string(host) + ": " + ::gai_strerror(rc));
}

}  // namespace

Result<std::vector<IpAddress>> resolve_host(std::string_view host, AddressPreference pref,
                                            Duration timeout) {
    if (auto numeric = IpAddress::parse(host)) {
        const bool v4 = numeric->is_v4();
        if ((pref == AddressPreference::kOnlyV4 && !v4) ||
            (pref == AddressPreference::kOnlyV6 && v4)) {
            return fail(Errc::kNotFound, std::string(host) + ": not of the requested family");
        }
        return std::vector<IpAddress>{*numeric};
    }
    if (host.empty()) {
        return fail(Errc::kInvalidArgument, "empty host name");
    }
    auto lookup = std::make_unique<Lookup>();
    lookup->host = std::string(host);
    lookup->hints.ai_family = pref == AddressPreference::kOnlyV4   ? AF_INET
                              : pref == AddressPreference::kOnlyV6 ? AF_INET6
                                                                   : AF_UNSPEC;
    lookup->hints.ai_socktype = SOCK_DGRAM;
    lookup->cb.ar_name = lookup->host.c_str();
    lookup->cb.ar_request = &lookup->hints;
    gaicb* list[1] = {&lookup->cb};
    if (int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
        return gai_failure(host, rc);
    }
    const Instant deadline = mono_now() + timeout;
    while (::gai_error(&lookup->cb) == EAI_INPROGRESS) {
        const Duration left = deadline - mono_now();
        if (left <= Duration::zero()) {
            break;
        }
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
        ::gai_suspend(list, 1, &ts);  // EAI_AGAIN/EAI_INTR: the loop re-checks
    }
    if (::gai_error(&lookup->cb) == EAI_INPROGRESS) {
        const int cancel = ::gai_cancel(&lookup->cb);
        if (cancel == EAI_NOTCANCELED) {
            (void)lookup.release();  // still owned by glibc's worker; see Lookup
        }
        if (cancel != EAI_ALLDONE) {
            return fail(Errc::kTimedOut, "resolve " + std::string(host) + ": timed out");
        }
    }
    if (const int rc = ::gai_error(&lookup->cb); rc != 0) {
        return gai_failure(host, rc);
    }
    auto result = collect(lookup->cb.ar_result, pref);
    ::freeaddrinfo(lookup->cb.ar_result);
    if (!result) {
        return fail(Errc::kNotFound,
                    "resolve " + std::string(host) + ": " + result.error().message);
    }
    return result;
}

Result<Endpoint> resolve_endpoint(std::string_view host, std::uint16_t port, AddressPreference pref,
                                  Duration timeout) {
    auto addrs = resolve_host(host, pref, timeout);
    if (!addrs) {
        return addrs.error();
    }
    return Endpoint::udp(addrs->front(), port);
}

}  // namespace tunless::io
