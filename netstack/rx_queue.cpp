#include "netstack/rx_queue.hpp"

#include <algorithm>
#include <cstring>

#include "lwip/pbuf.h"

namespace tunless::net {

void RxQueue::push(struct pbuf* chain) {
    // Split the chain so fully read pbufs can be freed one by one: take our own reference on
    // the rest, then pbuf_dechain drops the link's reference (lwIP's documented pattern).
    struct pbuf* p = chain;
    while (p != nullptr) {
        struct pbuf* rest = p->next;
        if (rest != nullptr) {
            pbuf_ref(rest);
            pbuf_dechain(p);
        }
        push_single(p);
        p = rest;
    }
}

void RxQueue::push_single(struct pbuf* p) {
    const std::uint16_t len = p->len;
    if (len == 0) {
        pbuf_free(p);
        return;
    }
    auto tail_has_room = [this](std::size_t n) {
        return !entries_.empty() && entries_.back().merge &&
               kMergeCapacity - entries_.back().end >= n;
    };
    if (len < kMergeBelow) {
        if (!tail_has_room(len)) {
            struct pbuf* m = pbuf_alloc(PBUF_RAW, kMergeCapacity, PBUF_RAM);
            if (m != nullptr) {  // without memory the segment is simply kept as it is
                entries_.push_back(Entry{m, 0, 0, true});
            }
        }
        if (tail_has_room(len)) {
            Entry& tail = entries_.back();
            std::memcpy(static_cast<std::uint8_t*>(tail.p->payload) + tail.end, p->payload, len);
            tail.end = static_cast<std::uint16_t>(tail.end + len);
            bytes_ += len;
            pbuf_free(p);
            return;
        }
    }
    entries_.push_back(Entry{p, 0, len, false});
    bytes_ += len;
}

ByteView RxQueue::front() const {
    for (const Entry& e : entries_) {  // skips a drained merge buffer kept for appending
        if (e.begin != e.end) {
            return ByteView(static_cast<const std::uint8_t*>(e.p->payload) + e.begin,
                            std::size_t{e.end} - e.begin);
        }
    }
    return {};
}

std::size_t RxQueue::peek_runs(std::span<ByteView> out) const {
    std::size_t n = 0;
    for (const Entry& e : entries_) {
        if (n == out.size()) {
            break;
        }
        if (e.begin != e.end) {
            out[n++] = ByteView(static_cast<const std::uint8_t*>(e.p->payload) + e.begin,
                                std::size_t{e.end} - e.begin);
        }
    }
    return n;
}

std::size_t RxQueue::peek(MutByteView out) const {
    std::size_t copied = 0;
    for (const Entry& e : entries_) {
        if (copied == out.size()) {
            break;
        }
        const std::size_t n = std::min<std::size_t>(out.size() - copied, e.end - e.begin);
        std::memcpy(out.data() + copied, static_cast<const std::uint8_t*>(e.p->payload) + e.begin,
                    n);
        copied += n;
    }
    return copied;
}

std::size_t RxQueue::consume(std::size_t n) {
    n = std::min(n, bytes_);
    std::size_t dropped = 0;
    while (dropped < n && !entries_.empty()) {
        Entry& e = entries_.front();
        const std::size_t take = std::min<std::size_t>(n - dropped, e.end - e.begin);
        e.begin = static_cast<std::uint16_t>(e.begin + take);
        dropped += take;
        if (e.begin != e.end) {
            continue;
        }
        if (e.merge && entries_.size() == 1) {
            e.begin = 0;  // the drained tail merge buffer is reused from its start
            e.end = 0;
        } else {
            pbuf_free(e.p);
            entries_.pop_front();
        }
    }
    bytes_ -= dropped;
    return dropped;
}

void RxQueue::clear() {
    for (const Entry& e : entries_) {
        pbuf_free(e.p);
    }
    entries_.clear();
    bytes_ = 0;
}

}  // namespace tunless::net
