// NetlinkMonitor: tells the daemon that the host's network changed (an interface went up or
// down, an address was added or removed), e.g. a cellular data call re-established with a new
// IP. It listens on a NETLINK_ROUTE socket (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
// RTMGRP_IPV6_IFADDR) registered on the EventLoop and coalesces bursts: the callback runs once,
// kSettle after the last message of a burst. Not a routing-table mirror: it does not say what
// changed. Callers: app::Node (re-send handshakes, re-resolve endpoints).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "transports/event_loop.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::io {

// What one netlink datagram says. Pure, for tests.
struct NetlinkSummary {
    std::uint32_t link_changes = 0;     // RTM_NEWLINK / RTM_DELLINK
    std::uint32_t address_changes = 0;  // RTM_NEWADDR / RTM_DELADDR
    std::uint32_t malformed = 0;        // truncated headers (the rest is skipped)
};
NetlinkSummary summarize_netlink(ByteView datagram);

class NetlinkMonitor final : public FdHandler {
public:
    static constexpr Duration kSettle = std::chrono::milliseconds(300);
    using Callback = std::function<void()>;

    // kIo when the socket cannot be opened (no netlink in a sandbox): the daemon runs without.
    static Result<std::unique_ptr<NetlinkMonitor>> open(EventLoop& loop, Callback on_change);
    ~NetlinkMonitor() override;
    NetlinkMonitor(const NetlinkMonitor&) = delete;
    NetlinkMonitor& operator=(const NetlinkMonitor&) = delete;

    void on_fd_ready(int fd, std::uint32_t events) override;
    std::uint64_t changes() const { return changes_; }      // callbacks run
    std::uint64_t overflows() const { return overflows_; }  // ENOBUFS: treated as a change

private:
    NetlinkMonitor(EventLoop& loop, UniqueFd fd, Callback on_change);
    void note_change();

    EventLoop& loop_;
    UniqueFd fd_;
    Callback on_change_;
    TimerId settle_ = kNoTimer;
    std::uint64_t changes_ = 0;
    std::uint64_t overflows_ = 0;
};

}  // namespace tunless::io
