#include "netstack/udp.hpp"

#include <vector>

#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "netstack/errors.hpp"
#include "netstack/invariant.hpp"
#include "netstack/ip_convert.hpp"
#include "netstack/stack.hpp"
#include "netstack/stack_access.hpp"

namespace tunless::net {

struct UdpCallbacks {
    // udp_recv callback: p is ours (freed here after the handler returns).
    static void recv(void* arg, struct udp_pcb* pcb, struct pbuf* p, const ip_addr_t* addr,
                     u16_t port) {
        auto* s = static_cast<UdpSocket*>(arg);
        if (s == nullptr) {
            pbuf_free(p);
            return;
        }
        const UdpDatagramInfo info{from_lwip(*addr), port, from_lwip(*ip_current_dest_addr()),
                                   pcb->local_port};
        ByteView payload;
        if (p->next == nullptr) {
            payload = ByteView(static_cast<const std::uint8_t*>(p->payload), p->len);
        } else {  // reassembled datagrams arrive chained
            static std::vector<std::uint8_t> scratch;
            scratch.resize(p->tot_len);
            pbuf_copy_partial(p, scratch.data(), p->tot_len, 0);
            payload = ByteView(scratch.data(), scratch.size());
        }
        ++s->received_;
        s->in_callback_ = true;
        s->handler_.on_datagram(*s, info, payload);
        s->in_callback_ = false;
        pbuf_free(p);
    }
};

Result<std::unique_ptr<UdpSocket>> UdpSocket::bind(Stack& stack, std::uint16_t port,
                                                   UdpHandler& handler) {
    struct udp_pcb* pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
    if (pcb == nullptr) {
        return fail(Errc::kLimitReached, "udp bind: no memory for a pcb");
    }
    const err_t err = udp_bind(pcb, IP_ANY_TYPE, port);
    if (err != ERR_OK) {
        udp_remove(pcb);
        return to_error(err, "udp bind");
    }
    std::unique_ptr<UdpSocket> socket(new UdpSocket(stack, pcb, handler));
    udp_recv(pcb, UdpCallbacks::recv, socket.get());
    return socket;
}

UdpSocket::UdpSocket(Stack& stack, struct udp_pcb* pcb, UdpHandler& handler)
    : stack_(stack), pcb_(pcb), handler_(handler), port_(pcb->local_port) {
    StackAccess::udp_opened(stack_);
}

UdpSocket::~UdpSocket() {
    TUNLESS_NET_INVARIANT(!in_callback_, "UdpSocket destroyed inside its own on_datagram");
    close();
    StackAccess::udp_closed(stack_);
}

void UdpSocket::close() {
    if (pcb_ == nullptr) {
        return;
    }
    udp_recv(pcb_, nullptr, nullptr);
    udp_remove(pcb_);
    pcb_ = nullptr;
}

Status UdpSocket::send_to(const IpAddress& dst, std::uint16_t port, ByteView payload) {
    return send(dst, port, payload, nullptr);
}

Status UdpSocket::send_to(const IpAddress& dst, std::uint16_t port, ByteView payload,
                          const IpAddress& src) {
    return send(dst, port, payload, &src);
}

Status UdpSocket::send(const IpAddress& dst, std::uint16_t port, ByteView payload,
                       const IpAddress* src) {
    if (pcb_ == nullptr) {
        return fail(Errc::kClosed, "udp send: socket is closed");
    }
    if (payload.size() > kMaxPayload) {
        return fail(Errc::kInvalidArgument, "udp send: datagram too large");
    }
    const ip_addr_t remote = to_lwip(dst);
    ip_addr_t local;
    if (src != nullptr) {
        bool ours = false;
        for (const auto& address : stack_.config().addresses) {
            ours = ours || address.unmap_v4() == src->unmap_v4();
        }
        local = to_lwip(*src);
        if (!ours || IP_GET_TYPE(&local) != IP_GET_TYPE(&remote)) {
            return fail(Errc::kInvalidArgument, "udp send: source is not a node address");
        }
    }
    // By reference: lwIP chains its header pbuf in front and the egress copies the chain out
    // before udp_sendto returns (no ARP/ND queue, TX_SINGLE_PBUF fragments copy).
    struct pbuf* p = payload.empty()
                         ? pbuf_alloc(PBUF_TRANSPORT, 0, PBUF_RAM)
                         : pbuf_alloc_reference(const_cast<std::uint8_t*>(payload.data()),
                                                static_cast<u16_t>(payload.size()), PBUF_REF);
    if (p == nullptr) {
        return fail(Errc::kLimitReached, "udp send: no memory for a pbuf");
    }
    const err_t err = src != nullptr ? udp_sendto_if_src(pcb_, p, &remote, port,
                                                         StackAccess::netif(stack_), &local)
                                     : udp_sendto(pcb_, p, &remote, port);
    const u8_t freed = pbuf_free(p);
    TUNLESS_NET_INVARIANT(freed >= 1, "lwIP kept a reference to a by-reference UDP payload");
    if (err != ERR_OK) {
        return to_error(err, "udp send");
    }
    ++sent_;
    return {};
}

}  // namespace tunless::net
