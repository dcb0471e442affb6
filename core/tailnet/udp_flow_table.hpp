// The packet filter's memory of outbound UDP/SCTP flows, so replies come back in without a rule
// (tailscale wgengine/filter filterState: a flowtrack.Cache LRU of 512 tuples, filled by
// RunOut/UpdateOutboundFlowState and read by runIn4/runIn6). Fixed capacity, least recently used
// entry evicted; unlike upstream, entries also expire after an idle time so a flow that went
// quiet does not stay open forever. Owned by PacketFilter; no allocation after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/time.hpp"

namespace tunless::tailnet {

// flowtrack.Tuple: protocol and both address:port ends, as seen on the wire.
struct FlowKey {
    std::uint8_t proto = 0;
    std::uint8_t version = 0;  // 4 or 6; IPv4 addresses use the first 4 bytes
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::array<std::uint8_t, 16> src{};
    std::array<std::uint8_t, 16> dst{};
    bool operator==(const FlowKey&) const = default;
};

class UdpFlowTable {
public:
    static constexpr std::size_t kDefaultCapacity = 512;  // filter.go lruMax
    // Longer than Linux conntrack's UDP "stream" timeout (180 s) and the usual NAT timeouts, so
    // only flows that really ended lapse; each packet either way refreshes it.
    static constexpr Duration kDefaultIdleTimeout = std::chrono::minutes(5);

    explicit UdpFlowTable(std::size_t capacity = kDefaultCapacity,
                          Duration idle_timeout = kDefaultIdleTimeout);

    // Adds or refreshes `key`; when full, the least recently used entry goes.
    void record(Instant now, const FlowKey& key);
    // True (and the entry refreshed, like LRU Get) if `key` is present and not idle too long.
    bool lookup(Instant now, const FlowKey& key);
    void clear();

    std::size_t size() const { return size_; }
    std::size_t capacity() const { return entries_.size(); }
    std::uint64_t evictions() const { return evictions_; }
    std::uint64_t expirations() const { return expirations_; }

private:
    static constexpr std::uint32_t kNone = 0xFFFFFFFF;

    struct Entry {
        FlowKey key;
        Instant last_used{};
        std::uint32_t prev = kNone;  // towards most recently used
        std::uint32_t next = kNone;  // towards least recently used
        std::uint32_t slot = kNone;  // index in slots_, kNone when free
    };

    std::size_t home_slot(const FlowKey& key) const;
    std::uint32_t find(const FlowKey& key) const;  // entry index or kNone
    void unlink(std::uint32_t e);
    void push_front(std::uint32_t e);
    void remove(std::uint32_t e);

    std::vector<Entry> entries_;
    std::vector<std::uint32_t> slots_;  // open addressing, linear probing; load <= 1/2
    std::size_t mask_ = 0;
    Duration idle_timeout_;
    std::uint32_t head_ = kNone;  // most recently used
    std::uint32_t tail_ = kNone;  // least recently used
    std::uint32_t free_ = kNone;  // free entries, chained through `next`
    std::size_t size_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t expirations_ = 0;
};

}  // namespace tunless::tailnet
