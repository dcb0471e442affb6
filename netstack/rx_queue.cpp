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
    if (!entries_) {
        entries_.emplace();
    }
    auto& entries = *entries_;
    auto tail_has_room = [&entries](std::size_t n) {
        return !entries.empty() && entries.back().merge &&
               kMergeCapacity - entries.back().end >= n;
    };
    if (len < kMergeBelow) {
        if (!tail_has_room(len)) {
            struct pbuf* m = pbuf_alloc(PBUF_RAW, kMergeCapacity, PBUF_RAM);
            if (m != nullptr) {  // without memory the segment is simply kept as it is
                entries.push_back(Entry{m, 0, 0, true});
            }
        }
        if (tail_has_room(len)) {
            Entry& tail = entries.back();
            std::memcpy(static_cast<std::uint8_t*>(tail.p->payload) + tail.end, p->payload, len);
            tail.end = static_cast<std::uint16_t>(tail.end + len);
            bytes_ += len;
            pbuf_free(p);
            return;
        }
    }
    entries.push_back(Entry{p, 0, len, false});
    bytes_ += len;
}

ByteView RxQueue::front() const {
    if (!entries_) {
        return {};
    }
    for (const Entry& e : *entries_) {  // the first non-empty entry
        if (e.begin != e.end) {
            return ByteView(static_cast<const std::uint8_t*>(e.p->payload) + e.begin,
                            std::size_t{e.end} - e.begin);
        }
    }
    return {};
}

std::size_t RxQueue::peek_runs(std::span<ByteView> out) const {
    std::size_t n = 0;
    if (!entries_) {
        return 0;
    }
    for (const Entry& e : *entries_) {
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
    if (!entries_) {
        return 0;
    }
    for (const Entry& e : *entries_) {
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
    while (dropped < n && entries_ && !entries_->empty()) {
        Entry& e = entries_->front();
        const std::size_t take = std::min<std::size_t>(n - dropped, e.end - e.begin);
        e.begin = static_cast<std::uint16_t>(e.begin + take);
        dropped += take;
        if (e.begin != e.end) {
            continue;
        }
        // Drained entries go back at once, the tail merge buffer too: an idle connection then
        // holds no receive memory (1000 mostly idle connections would otherwise keep ~1 KiB
        // each of the shared heap budget). The next tiny segment allocates a fresh one.
        pbuf_free(e.p);
        entries_->pop_front();
    }
    if (entries_ && entries_->empty()) {
        entries_.reset();
    }
    bytes_ -= dropped;
    return dropped;
}

void RxQueue::clear() {
    if (entries_) {
        for (const Entry& e : *entries_) {
            pbuf_free(e.p);
        }
    }
    entries_.reset();
    bytes_ = 0;
}

}  // namespace tunless::net
