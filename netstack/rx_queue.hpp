// Received TCP payload held for a TcpConnection until its user consumes it. It owns pbuf
// references (chains are split into single pbufs on entry) and reads them without copying when
// it can. Its size is bounded by the receive window the connection withholds, and tiny segments
// are merged into small buffers so per-pbuf overhead stays proportional to the bytes held.
// Internal to netstack/ (TcpConnection's member); needs no lwIP header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>

#include "core/base/bytes.hpp"

struct pbuf;

namespace tunless::net {

class RxQueue {
public:
    // Segments shorter than kMergeBelow are copied into merge buffers of kMergeCapacity bytes.
    // With both equal, held memory stays under ~2.2x the bytes held whatever segment sizes a
    // peer chooses (a 1-byte pbuf would cost ~100 bytes of headers and bookkeeping); full-size
    // segments are never copied. An empty queue holds no pbuf. See docs/adr/0001-lwip-memory.md.
    static constexpr std::size_t kMergeBelow = 1024;
    static constexpr std::size_t kMergeCapacity = 1024;

    RxQueue() = default;
    ~RxQueue() { clear(); }
    RxQueue(const RxQueue&) = delete;
    RxQueue& operator=(const RxQueue&) = delete;

    // Takes over the caller's reference to `chain` (as delivered by tcp_recv).
    void push(struct pbuf* chain);
    std::size_t size() const { return bytes_; }
    bool empty() const { return bytes_ == 0; }
    // The first contiguous run of queued bytes; valid until the next push/consume/clear.
    ByteView front() const;
    // Up to out.size() contiguous runs from the head, in order (for one sendmsg/writev);
    // valid until the next push/consume/clear. Returns the count filled.
    std::size_t peek_runs(std::span<ByteView> out) const;
    // Copies up to out.size() bytes from the head without consuming them.
    std::size_t peek(MutByteView out) const;
    // Drops up to n bytes from the head; returns how many were dropped.
    std::size_t consume(std::size_t n);
    void clear();
    std::size_t pbuf_count() const { return entries_ ? entries_->size() : 0; }

private:
    struct Entry {
        struct pbuf* p;
        std::uint16_t begin;  // unread bytes are payload[begin, end)
        std::uint16_t end;
        bool merge;           // our own buffer of kMergeCapacity bytes, still appendable
    };
    void push_single(struct pbuf* p);

    // Engaged only while something is queued: libstdc++'s deque allocates ~600 bytes as soon
    // as it exists, which a thousand idle connections would hold for nothing.
    std::optional<std::deque<Entry>> entries_;
    std::size_t bytes_ = 0;
};

}  // namespace tunless::net
