#include "transports/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tunless::io {
namespace {

std::uint64_t from_rlim(rlim_t v) {
    return v == RLIM_INFINITY ? kUnlimitedFds : static_cast<std::uint64_t>(v);
}

}  // namespace

Result<FdLimit> raise_fd_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return fail(Errc::kIo, std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
    }
    FdLimit out;
    out.before = from_rlim(lim.rlim_cur);
    out.soft = out.before;
    out.hard = from_rlim(lim.rlim_max);
    const rlim_t want = lim.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(kFdsWhenUnlimited)
                                                      : lim.rlim_max;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
        rlimit raised = lim;
        raised.rlim_cur = want;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            out.soft = from_rlim(want);
        }
    }
    return out;
}

}  // namespace tunless::io
