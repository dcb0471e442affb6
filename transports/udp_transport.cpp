#include "transports/udp_transport.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "transports/socket_address.hpp"
#include "transports/udp_batches.hpp"

namespace tunless::io {
namespace {

constexpr int kDualPortAttempts = 8;  // random-port retries when v4 and v6 are separate

Unexpected errno_fail(const std::string& what, int err) {
    return fail(Errc::kIo, what + ": " + std::strerror(err));
}

bool would_block(int err) {
    return err == EAGAIN || err == EWOULDBLOCK;
}

}  // namespace

UdpTransport::UdpTransport(EventLoop& loop, const Options& options)
    : loop_(loop), options_(options), use_mmsg_(!options.force_single_syscalls) {
    options_.recv_batch = std::max<std::size_t>(1, options_.recv_batch);
    options_.max_batches_per_wakeup = std::max<std::size_t>(1, options_.max_batches_per_wakeup);
}

UdpTransport::~UdpTransport() {
    for (const Socket& s : sockets_) {
        loop_.remove_fd(s.fd.get());
    }
}

Result<std::unique_ptr<UdpTransport>> UdpTransport::open(EventLoop& loop, const Options& options) {
    std::unique_ptr<UdpTransport> t(new UdpTransport(loop, options));
    if (Status st = t->open_sockets(); !st) {
        return st.error();
    }
    t->rx_ = std::make_unique<RecvState>(t->options_.recv_batch);
    for (const Socket& s : t->sockets_) {
        if (Status st = loop.add_fd(s.fd.get(), kRead, *t); !st) {
            return st.error();
        }
    }
    return t;
}

Status UdpTransport::open_one(int family, std::uint16_t port, std::optional<bool> v6_only,
                              const std::optional<IpAddress>& bind_address) {
    UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    if (!fd) {
        return errno_fail(family == AF_INET6 ? "socket(AF_INET6)" : "socket(AF_INET)", errno);
    }
    if (v6_only) {
        int on = *v6_only ? 1 : 0;
        if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
            return errno_fail("setsockopt(IPV6_V6ONLY)", errno);
        }
    }
    if (options_.socket_buffer_bytes > 0) {
        // Best effort. The *FORCE variants (CAP_NET_ADMIN, as wireguard-go does) bypass
        // net.core.{r,w}mem_max, which is ~208 KiB by default: too small for a burst of
        // full-size datagrams, and every drop there stalls lwIP's TCP in loss recovery.
        const int size = options_.socket_buffer_bytes;
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
            ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        }
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
            ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        }
    }
    IpAddress any = family == AF_INET6 ? *IpAddress::parse("::") : IpAddress{};
    auto addr = to_socket_address(Endpoint::udp(bind_address.value_or(any), port), family);
    if (!addr) {
        return fail(Errc::kInvalidArgument, "bind address does not match the socket family");
    }
    if (::bind(fd.get(), addr->get(), addr->length) != 0) {
        const int err = errno;
        return fail(err == EADDRINUSE ? Errc::kAlreadyExists : Errc::kIo,
                    "bind " + Endpoint::udp(bind_address.value_or(any), port).to_string() + ": " +
                        std::strerror(err));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
        return errno_fail("getsockname", errno);
    }
    port_ = from_socket_address(reinterpret_cast<sockaddr*>(&bound), len).value_or(Endpoint{}).port;
    Socket s{std::move(fd), family, v6_only.value_or(false)};
    enable_offloads(s);
    sockets_.push_back(std::move(s));
    return {};
}

void UdpTransport::enable_offloads(Socket& s) const {
    if (options_.udp_gso) {
        // Reading the option is the probe (kernels before 4.18 answer ENOPROTOOPT); the size
        // itself travels per send in a cmsg, so the socket keeps gso_size 0.
        int size = 0;
        socklen_t len = sizeof size;
        s.gso = ::getsockopt(s.fd.get(), SOL_UDP, UDP_SEGMENT, &size, &len) == 0;
    }
    if (options_.udp_gro) {
        const int on = 1;
        s.gro = ::setsockopt(s.fd.get(), SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
    }
}

Status UdpTransport::open_sockets() {
    const auto& bind = options_.bind_address;
    if (bind && !bind->is_unspecified()) {
        // A specific address: one socket of its family, no dual-stack.
        const bool v6 = bind->unmap_v4().is_v6();
        return open_one(v6 ? AF_INET6 : AF_INET, options_.port,
                        v6 ? std::optional<bool>(true) : std::nullopt, bind->unmap_v4());
    }
    if (!options_.allow_ipv6 || (bind && bind->is_v4())) {
        return open_one(AF_INET, options_.port, std::nullopt, std::nullopt);
    }
    Status dual = open_one(AF_INET6, options_.port, false, std::nullopt);
    if (dual) {
        return {};
    }
    if (dual.error().code == Errc::kAlreadyExists) {
        return dual;  // the port is taken; another family would not help
    }
    // Dual-stack refused (policy or no IPv6 at all): try separate v6-only + v4 sockets on
    // one port, then IPv4 alone. A random port may be free on v6 but taken on v4: retry.
    for (int attempt = 0; attempt < kDualPortAttempts; ++attempt) {
        sockets_.clear();
        if (!open_one(AF_INET6, options_.port, true, std::nullopt)) {
            break;
        }
        Status v4 = open_one(AF_INET, port_, std::nullopt, std::nullopt);
        if (v4) {
            return {};
        }
        if (options_.port != 0 || v4.error().code != Errc::kAlreadyExists) {
            return v4;
        }
    }
    sockets_.clear();
    return open_one(AF_INET, options_.port, std::nullopt, std::nullopt);
}

Status UdpTransport::rebind(std::uint16_t port) {
    if (port != 0 && port == port_) {
        return {};
    }
    std::vector<Socket> old = std::move(sockets_);
    sockets_.clear();
    const std::uint16_t old_port = port_;
    const std::uint16_t old_option = options_.port;
    options_.port = port;
    Status st = open_sockets();
    for (std::size_t i = 0; st && i < sockets_.size(); ++i) {
        st = loop_.add_fd(sockets_[i].fd.get(), kRead, *this);
    }
    if (!st) {
        for (const Socket& s : sockets_) {
            loop_.remove_fd(s.fd.get());
        }
        sockets_ = std::move(old);
        port_ = old_port;
        options_.port = old_option;
        return st;
    }
    for (const Socket& s : old) {
        loop_.remove_fd(s.fd.get());
    }
    return {};
}

bool UdpTransport::port_available(std::uint16_t port) {
    for (int family : {AF_INET6, AF_INET}) {
        UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
        if (!fd) {
            continue;  // no IPv6: the AF_INET probe decides
        }
        if (family == AF_INET6) {
            int off = 0;
            ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        }
        const IpAddress any = family == AF_INET6 ? *IpAddress::parse("::") : IpAddress{};
        auto addr = to_socket_address(Endpoint::udp(any, port), family);
        return addr && ::bind(fd.get(), addr->get(), addr->length) == 0;
    }
    return false;
}

bool UdpTransport::has_ipv4() const {
    return std::any_of(sockets_.begin(), sockets_.end(),
                       [](const Socket& s) { return s.family == AF_INET || !s.v6_only; });
}

bool UdpTransport::has_ipv6() const {
    return std::any_of(sockets_.begin(), sockets_.end(),
                       [](const Socket& s) { return s.family == AF_INET6; });
}

bool UdpTransport::has_gso() const {
    return !gso_failed_ &&
           std::any_of(sockets_.begin(), sockets_.end(), [](const Socket& s) { return s.gso; });
}

bool UdpTransport::has_gro() const {
    return std::any_of(sockets_.begin(), sockets_.end(), [](const Socket& s) { return s.gro; });
}

void UdpTransport::on_fd_ready(int fd, std::uint32_t events) {
    if (events & (kError | kHangup)) {
        // A pending ICMP-derived error: read it to clear the level-triggered EPOLLERR.
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ++stats_.rx_errors;
    }
    if (events & kRead) {
        receive_from(fd);
    }
}

void UdpTransport::receive_from(int fd) {
    // Per-wakeup budget (fairness with other fds): the socket stays readable and level-
    // triggered epoll reports it again next round.
    std::size_t budget = options_.recv_batch * options_.max_batches_per_wakeup;
    bool delivered = false;
    while (budget > 0) {
        const std::size_t want = use_mmsg_ ? std::min(options_.recv_batch, budget) : 1;
        const std::size_t n = receive_batch(fd, want);
        delivered = delivered || n > 0;
        if (n < want) {
            break;  // drained, or an error
        }
        budget -= n;
    }
    if (delivered && receiver_ != nullptr) {
        receiver_->on_receive_batch_end();
    }
}

std::size_t UdpTransport::receive_batch(int fd, std::size_t want) {
    RecvState& rx = *rx_;
    for (std::size_t i = 0; i < want; ++i) {
        rx.prepare(i);
    }
    int n = 0;
    if (use_mmsg_) {
        n = ::recvmmsg(fd, rx.msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
        if (n < 0 && errno == ENOSYS) {
            use_mmsg_ = false;
            return receive_batch(fd, 1);
        }
    } else {
        const ssize_t r = ::recvmsg(fd, &rx.msgs[0].msg_hdr, MSG_DONTWAIT);
        if (r >= 0) {
            rx.msgs[0].msg_len = static_cast<unsigned>(r);
        }
        n = r < 0 ? -1 : 1;
    }
    if (n < 0) {
        if (!would_block(errno) && errno != EINTR) {
            ++stats_.rx_errors;
        }
        return 0;
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        deliver(i, rx.msgs[i].msg_len, rx.msgs[i].msg_hdr.msg_flags);
    }
    return static_cast<std::size_t>(n);
}

void UdpTransport::deliver(std::size_t slot, std::size_t length, int flags) {
    RecvState& rx = *rx_;
    if (flags & MSG_TRUNC) {
        ++stats_.rx_drop_truncated;
        return;
    }
    auto from = from_socket_address(reinterpret_cast<const sockaddr*>(&rx.from[slot]),
                                    rx.msgs[slot].msg_hdr.msg_namelen);
    if (!from) {
        ++stats_.rx_errors;
        return;
    }
    const std::uint8_t* data = rx.buffer.get() + slot * kMaxDatagramSize;
    const std::size_t segment = rx.gro_segment_size(slot);
    if (segment == 0 || segment >= length) {
        deliver_one(*from, ByteView(data, length));
        return;
    }
    // A UDP_GRO buffer: datagrams of `segment` bytes from one sender, the last possibly
    // shorter (udp(7)); each goes to the receiver as its own datagram, in order.
    ++stats_.rx_gro_batches;
    for (std::size_t offset = 0; offset < length; offset += segment) {
        ++stats_.rx_gro_segments;
        deliver_one(*from, ByteView(data + offset, std::min(segment, length - offset)));
    }
}

void UdpTransport::deliver_one(const Endpoint& from, ByteView data) {
    ++stats_.rx_datagrams;
    stats_.rx_bytes += data.size();
    if (receiver_ != nullptr) {
        receiver_->on_datagram(from, data);
    }
}

const UdpTransport::Socket* UdpTransport::socket_for(const Endpoint& to) const {
    if (to.kind != Endpoint::Kind::kUdp) {
        return nullptr;
    }
    const bool v4 = to.ip.unmap_v4().is_v4();
    const Socket* fallback = nullptr;
    for (const Socket& s : sockets_) {
        if (v4 && s.family == AF_INET) {
            return &s;
        }
        if (s.family == AF_INET6 && (!v4 || !s.v6_only)) {
            fallback = &s;
        }
    }
    return fallback;
}

SendResult UdpTransport::send(const Endpoint& to, ByteView data) {
    const OutDatagram one{to, data};
    return send_batch(std::span<const OutDatagram>(&one, 1)) == 1 ? SendResult::kSent
                                                                  : SendResult::kDropped;
}

std::size_t UdpTransport::send_batch(std::span<const OutDatagram> batch) {
    std::size_t sent = 0;
    std::size_t i = 0;
    while (i < batch.size()) {
        const Socket* s = socket_for(batch[i].to);
        if (s == nullptr) {
            ++stats_.tx_drop_no_path;
            ++i;
            continue;
        }
        // The longest run of datagrams that go out through the same socket.
        std::size_t j = i + 1;
        while (j < batch.size() && j - i < TxBatch::kMaxDatagrams &&
               socket_for(batch[j].to) == s) {
            ++j;
        }
        sent += send_group(*s, batch.subspan(i, j - i));
        i = j;
    }
    return sent;
}

std::size_t UdpTransport::send_group(const Socket& s, std::span<const OutDatagram> group) {
    TxBatch tx;
    const bool gso = s.gso && !gso_failed_;
    for (const OutDatagram& d : group) {
        auto addr = to_socket_address(d.to, s.family);
        if (!addr) {
            ++stats_.tx_drop_no_path;
            continue;
        }
        if (d.data.size() > kMaxDatagramSize) {
            ++stats_.tx_drop_too_big;
            continue;
        }
        tx.add(d.to, *addr, d.data, gso);
    }
    tx.finish();
    return transmit(s, tx);
}

// Sends tx's messages; returns how many datagrams went out. Every other datagram is a counted
// drop, except those of a GSO send the kernel refused: they are sent again one by one.
std::size_t UdpTransport::transmit(const Socket& s, TxBatch& tx) {
    std::size_t sent = 0;
    std::size_t k = 0;
    while (k < tx.messages) {
        int n = -1;
        if (use_mmsg_) {
            n = ::sendmmsg(s.fd.get(), &tx.msgs[k], static_cast<unsigned>(tx.messages - k),
                           MSG_DONTWAIT);
            if (n < 0 && errno == ENOSYS) {
                use_mmsg_ = false;
                continue;
            }
        } else {
            n = ::sendmsg(s.fd.get(), &tx.msgs[k].msg_hdr, MSG_DONTWAIT) < 0 ? -1 : 1;
        }
        if (n <= 0) {
            // sendmmsg reports an error only for the first message of the call: drop that
            // one and carry on with the rest.
            const int err = n < 0 ? errno : EAGAIN;
            if (tx.segments[k] > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE)) {
                // The kernel refused the segmentation, not the datagrams (udp_send_skb): a
                // segment above the route MTU (EINVAL, EMSGSIZE since 6.x), no checksum
                // offload or IPsec on the route (EIO), SO_NO_CHECK (EINVAL). None of these
                // goes away by itself: stop segmenting and send these one by one.
                gso_failed_ = true;
                ++stats_.tx_gso_failed;
                stats_.last_tx_errno = err;
                return sent + retry_unsegmented(s, tx, k);
            }
            count_send_error(err, tx.segments[k]);
            ++k;
            continue;
        }
        for (std::size_t m = k; m < k + static_cast<std::size_t>(n); ++m) {
            stats_.tx_datagrams += tx.segments[m];
            stats_.tx_bytes += tx.bytes[m];
            sent += tx.segments[m];
            if (tx.segments[m] > 1) {
                ++stats_.tx_gso_sends;
                stats_.tx_gso_segments += tx.segments[m];
            }
        }
        k += static_cast<std::size_t>(n);
    }
    return sent;
}

std::size_t UdpTransport::retry_unsegmented(const Socket& s, const TxBatch& tx, std::size_t from) {
    TxBatch plain;
    for (std::size_t m = from; m < tx.messages; ++m) {
        for (std::size_t d = tx.first[m]; d < tx.first[m] + tx.segments[m]; ++d) {
            const auto* data = static_cast<const std::uint8_t*>(tx.iov[d].iov_base);
            plain.add(*tx.dest[m], tx.addrs[m], ByteView(data, tx.iov[d].iov_len), false);
        }
    }
    plain.finish();
    return transmit(s, plain);
}

void UdpTransport::count_send_error(int err, std::size_t datagrams) {
    stats_.last_tx_errno = err;
    switch (err) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
        case ENOBUFS:
        case EINTR: stats_.tx_drop_would_block += datagrams; break;
        case ENETUNREACH:
        case EHOSTUNREACH:
        case EADDRNOTAVAIL:
        case ENETDOWN:
        case EAFNOSUPPORT: stats_.tx_drop_unreachable += datagrams; break;
        case EPERM:
        case EACCES:
        case ECONNREFUSED: stats_.tx_drop_refused += datagrams; break;
        case EMSGSIZE: stats_.tx_drop_too_big += datagrams; break;
        default: stats_.tx_drop_other += datagrams; break;
    }
}

}  // namespace tunless::io
