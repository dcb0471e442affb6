// The recvmmsg/sendmmsg arrays of UdpTransport (udp_transport.hpp), with the cmsg handling of
// UDP GSO (UDP_SEGMENT on send) and GRO (UDP_GRO on receive), udp(7). Internal: included by
// udp_transport.cpp only; the transport owns one RecvState and builds a TxBatch per send group.
#pragma once

#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "transports/socket_address.hpp"
#include "transports/udp_transport.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h; older C library headers lack it
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace tunless::io {
namespace udp_detail {

// Room for one int-sized cmsg: UDP_SEGMENT sends a u16, UDP_GRO delivers an int. Aligned
// bytes rather than a union with cmsghdr: glibc's cmsghdr ends in a flexible array member,
// which clang refuses as an array element.
struct Control {
    alignas(cmsghdr) std::uint8_t bytes[CMSG_SPACE(sizeof(int))];
};

}  // namespace udp_detail

struct UdpTransport::RecvState {
    explicit RecvState(std::size_t batch)
        : buffer(new std::uint8_t[batch * kMaxDatagramSize]),
          msgs(batch),
          iov(batch),
          from(batch),
          control(batch) {}
    void prepare(std::size_t i) {
        iov[i].iov_base = buffer.get() + i * kMaxDatagramSize;
        iov[i].iov_len = kMaxDatagramSize;
        msgs[i].msg_hdr = msghdr{};
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = control[i].bytes;
        msgs[i].msg_hdr.msg_controllen = sizeof control[i].bytes;
        msgs[i].msg_len = 0;
    }
    // The UDP_GRO segment size of slot i; 0 when the buffer holds one plain datagram.
    std::size_t gro_segment_size(std::size_t i) const {
        const msghdr& h = msgs[i].msg_hdr;
        for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
             c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
                c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int size = 0;
                std::memcpy(&size, CMSG_DATA(c), sizeof size);
                return size > 0 ? static_cast<std::size_t>(size) : 0;
            }
        }
        return 0;
    }

    // Default-initialised, not a zero-filled vector: the kernel only touches the pages a
    // datagram lands in, so 8 x 64 KiB slots cost a few pages of RSS, not 512 KiB (until
    // UDP_GRO buffers, up to 64 KiB each, have filled the slots once).
    std::unique_ptr<std::uint8_t[]> buffer;
    std::vector<mmsghdr> msgs;
    std::vector<iovec> iov;
    std::vector<sockaddr_storage> from;
    std::vector<udp_detail::Control> control;  // UDP_GRO segment size (sockets with GRO on)
};

// One group's sendmmsg arrays. Message m carries iov[first[m]] .. + segments[m] - 1: one
// datagram, or a run of datagrams to one endpoint whose sizes equal the first's (the last may
// be shorter) sent with a UDP_SEGMENT cmsg; the kernel cuts the concatenated payload every
// gso_size bytes whatever the iov boundaries (udp(7)), so the run need not be contiguous.
struct UdpTransport::TxBatch {
    static constexpr std::size_t kMaxDatagrams = 64;  // per group: one sendmmsg call at most
    // Limits of one UDP_SEGMENT send (udp(7); net/ipv4/udp.c udp_send_skb): UDP_MAX_SEGMENTS
    // (64) segments, and the whole payload must fit one IP packet's length field (IPv4:
    // 65535 - 20 - 8 = 65507 bytes; IPv6 allows a little more, one bound keeps it simple).
    static constexpr std::size_t kMaxGsoSegments = 64;
    static constexpr std::size_t kMaxGsoBytes = 65507;

    // Appends one datagram, extending the last message when `gso` allows.
    void add(const Endpoint& to, const SocketAddress& addr, ByteView data, bool gso) {
        const std::size_t d = datagrams++;
        iov[d].iov_base = const_cast<std::uint8_t*>(data.data());
        iov[d].iov_len = data.size();
        if (gso && messages > 0 && extends(messages - 1, to, data.size())) {
            const std::size_t m = messages - 1;
            ++segments[m];
            bytes[m] += data.size();
            msgs[m].msg_hdr.msg_iovlen = segments[m];
            return;
        }
        const std::size_t m = messages++;
        dest[m] = &to;
        addrs[m] = addr;
        first[m] = d;
        segments[m] = 1;
        bytes[m] = data.size();
        msgs[m].msg_hdr = msghdr{};
        msgs[m].msg_hdr.msg_name = &addrs[m].storage;
        msgs[m].msg_hdr.msg_namelen = addrs[m].length;
        msgs[m].msg_hdr.msg_iov = &iov[d];
        msgs[m].msg_hdr.msg_iovlen = 1;
        msgs[m].msg_len = 0;
    }
    // Attaches the UDP_SEGMENT cmsg to every message that carries a run.
    void finish() {
        for (std::size_t m = 0; m < messages; ++m) {
            if (segments[m] < 2) {
                continue;  // a lone datagram: a plain send (no MTU check on gso_size)
            }
            msghdr& h = msgs[m].msg_hdr;
            h.msg_control = control[m].bytes;
            h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
            cmsghdr* c = CMSG_FIRSTHDR(&h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto size = static_cast<std::uint16_t>(iov[first[m]].iov_len);
            std::memcpy(CMSG_DATA(c), &size, sizeof size);
        }
    }

    mmsghdr msgs[kMaxDatagrams];
    iovec iov[kMaxDatagrams];
    SocketAddress addrs[kMaxDatagrams];
    udp_detail::Control control[kMaxDatagrams];
    const Endpoint* dest[kMaxDatagrams];
    std::size_t first[kMaxDatagrams];
    std::size_t segments[kMaxDatagrams];
    std::size_t bytes[kMaxDatagrams];
    std::size_t messages = 0;
    std::size_t datagrams = 0;

private:
    bool extends(std::size_t m, const Endpoint& to, std::size_t size) const {
        const std::size_t segment = iov[first[m]].iov_len;
        const std::size_t last = iov[first[m] + segments[m] - 1].iov_len;
        return *dest[m] == to && size > 0 && size <= segment && last == segment &&
               segments[m] < kMaxGsoSegments && bytes[m] + size <= kMaxGsoBytes;
    }
};

}  // namespace tunless::io
