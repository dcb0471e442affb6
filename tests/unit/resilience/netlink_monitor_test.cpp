// NetlinkMonitor: which rtnetlink messages count as a network change, and truncated input.
#include <doctest/doctest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "transports/netlink_monitor.hpp"

namespace tunless::io {
namespace {

void append(std::vector<std::uint8_t>& buf, std::uint16_t type, std::size_t payload) {
    nlmsghdr h{};
    h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(payload));
    h.nlmsg_type = type;
    const std::size_t off = buf.size();
    buf.resize(off + NLMSG_SPACE(payload));
    std::memcpy(buf.data() + off, &h, sizeof h);
}

}  // namespace

TEST_CASE("summarize_netlink counts link and address messages") {
    std::vector<std::uint8_t> buf;
    append(buf, RTM_NEWADDR, sizeof(ifaddrmsg) + 8);
    append(buf, RTM_DELADDR, sizeof(ifaddrmsg));
    append(buf, RTM_NEWLINK, sizeof(ifinfomsg) + 3);  // unaligned payload: padded
    append(buf, RTM_NEWROUTE, sizeof(rtmsg));         // not watched
    const NetlinkSummary s = summarize_netlink(ByteView(buf.data(), buf.size()));
    CHECK(s.address_changes == 2);
    CHECK(s.link_changes == 1);
    CHECK(s.malformed == 0);
}

TEST_CASE("summarize_netlink stops at a bad length") {
    std::vector<std::uint8_t> buf;
    append(buf, RTM_NEWADDR, 8);
    append(buf, RTM_NEWLINK, 8);
    nlmsghdr h{};
    std::memcpy(&h, buf.data() + NLMSG_SPACE(8), sizeof h);
    h.nlmsg_len = 4096;  // longer than the datagram
    std::memcpy(buf.data() + NLMSG_SPACE(8), &h, sizeof h);
    NetlinkSummary s = summarize_netlink(ByteView(buf.data(), buf.size()));
    CHECK(s.address_changes == 1);
    CHECK(s.link_changes == 0);
    CHECK(s.malformed == 1);
    s = summarize_netlink(ByteView(buf.data(), 5));  // shorter than a header
    CHECK(s.malformed == 1);
    CHECK(summarize_netlink(ByteView()).malformed == 0);
}

}  // namespace tunless::io
