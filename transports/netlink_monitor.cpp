#include "transports/netlink_monitor.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace tunless::io {

NetlinkSummary summarize_netlink(ByteView datagram) {
    NetlinkSummary s;
    std::size_t off = 0;
    while (datagram.size() - off >= sizeof(nlmsghdr)) {
        nlmsghdr h{};
        std::memcpy(&h, datagram.data() + off, sizeof h);
        if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > datagram.size() - off) {
            ++s.malformed;
            return s;
        }
        switch (h.nlmsg_type) {
            case RTM_NEWLINK:
            case RTM_DELLINK: ++s.link_changes; break;
            case RTM_NEWADDR:
            case RTM_DELADDR: ++s.address_changes; break;
            default: break;
        }
        off += NLMSG_ALIGN(h.nlmsg_len);
        if (off > datagram.size()) break;
    }
    if (off < datagram.size()) ++s.malformed;
    return s;
}

Result<std::unique_ptr<NetlinkMonitor>> NetlinkMonitor::open(EventLoop& loop, Callback on_change) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return fail(Errc::kIo, std::string("netlink socket: ") + std::strerror(errno));
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        return fail(Errc::kIo, std::string("netlink bind: ") + std::strerror(errno));
    }
    const int raw = fd.get();
    std::unique_ptr<NetlinkMonitor> m(
        new NetlinkMonitor(loop, std::move(fd), std::move(on_change)));
    if (auto st = loop.add_fd(raw, kRead, *m); !st) return st.error();
    return m;
}

NetlinkMonitor::NetlinkMonitor(EventLoop& loop, UniqueFd fd, Callback on_change)
    : loop_(loop), fd_(std::move(fd)), on_change_(std::move(on_change)) {}

NetlinkMonitor::~NetlinkMonitor() {
    if (settle_ != kNoTimer) loop_.cancel_timer(settle_);
    loop_.remove_fd(fd_.get());
}

void NetlinkMonitor::on_fd_ready(int fd, std::uint32_t events) {
    if ((events & (kError | kHangup)) != 0 && (events & kRead) == 0) {
        loop_.remove_fd(fd);  // level-triggered errors would spin; the daemon carries on without
        return;
    }
    std::array<std::uint8_t, 8192> buf{};
    // Bounded drain: a busy host cannot keep us here.
    for (int i = 0; i < 64; ++i) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ENOBUFS) {  // the kernel dropped messages: something changed
                ++overflows_;
                note_change();
                continue;
            }
            return;  // EAGAIN (drained) or EINTR: wait for the next readiness
        }
        const auto len = static_cast<std::size_t>(n);
        const NetlinkSummary s = summarize_netlink(ByteView(buf.data(), len));
        if (s.link_changes + s.address_changes > 0) note_change();
    }
}

void NetlinkMonitor::note_change() {
    // Restart the settle timer: one callback per burst (a data call brings up link, v4 and v6
    // addresses within milliseconds).
    if (settle_ != kNoTimer) loop_.cancel_timer(settle_);
    settle_ = loop_.add_timer(kSettle, [this] {
        settle_ = kNoTimer;
        ++changes_;
        if (on_change_) on_change_();
    });
}

}  // namespace tunless::io
