// UdpFlowTable: the flows of one UDP forward, keyed by the source address that opened them,
// bounded by max_flows with least-recently-used eviction and an optional inactivity timeout
// (zero: never idle out, but the bound still holds). Pure bookkeeping: no sockets, no clock
// (`now` is passed in). Flows are owned here; evicting/expiring destroys them, so callers must
// not evict from inside the flow's own callback (they never do: new flows are created from the
// listener's callback). Used by proxy::UdpProxyTunnel and proxy::UdpServerTunnel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>

#include "core/base/ip_address.hpp"
#include "core/base/time.hpp"

namespace tunless::proxy {

struct FlowKey {
    IpAddress ip;
    std::uint16_t port = 0;
    auto operator<=>(const FlowKey&) const = default;
};

struct FlowTableStats {
    std::size_t active = 0;
    std::uint64_t total = 0;    // flows ever created
    std::uint64_t evicted = 0;  // removed to make room (LRU)
    std::uint64_t expired = 0;  // removed after the inactivity timeout
};

template <typename Flow>
class UdpFlowTable {
public:
    // max_flows 0 is treated as 1; idle_timeout zero disables expiry.
    UdpFlowTable(std::size_t max_flows, Duration idle_timeout)
        : max_flows_(max_flows == 0 ? 1 : max_flows), idle_timeout_(idle_timeout) {}

    // The flow for `key`, marked active at `now`; nullptr if there is none.
    Flow* find(const FlowKey& key, Instant now) {
        auto it = index_.find(key);
        if (it == index_.end()) return nullptr;
        it->second->last_active = now;
        lru_.splice(lru_.end(), lru_, it->second);
        return it->second->flow.get();
    }

    // Adds a flow (the key must not be present), evicting the least recently used flows while
    // the table is full. Returns the inserted flow.
    Flow& insert(const FlowKey& key, std::unique_ptr<Flow> flow, Instant now) {
        while (lru_.size() >= max_flows_) {
            ++stats_.evicted;
            remove(lru_.begin());
        }
        lru_.push_back(Entry{key, std::move(flow), now});
        index_.emplace(key, std::prev(lru_.end()));
        ++stats_.total;
        return *lru_.back().flow;
    }

    void erase(const FlowKey& key) {
        auto it = index_.find(key);
        if (it != index_.end()) remove(it->second);
    }

    // Removes flows idle for idle_timeout or longer.
    void expire(Instant now) {
        if (idle_timeout_ == Duration::zero()) return;
        while (!lru_.empty() && lru_.front().last_active + idle_timeout_ <= now) {
            ++stats_.expired;
            remove(lru_.begin());
        }
    }

    // When the least recently used flow idles out (kNever without a timeout or flows).
    Instant next_expiry() const {
        if (idle_timeout_ == Duration::zero() || lru_.empty()) return kNever;
        return lru_.front().last_active + idle_timeout_;
    }

    std::size_t size() const { return lru_.size(); }
    std::size_t capacity() const { return max_flows_; }
    FlowTableStats stats() const {
        FlowTableStats s = stats_;
        s.active = lru_.size();
        return s;
    }

private:
    struct Entry {
        FlowKey key;
        std::unique_ptr<Flow> flow;
        Instant last_active;
    };
    using Iter = typename std::list<Entry>::iterator;

    void remove(Iter it) {
        index_.erase(it->key);
        // Unlink before destroying, so a flow destructor that looks itself up finds nothing.
        std::unique_ptr<Flow> doomed = std::move(it->flow);
        lru_.erase(it);
    }

    std::size_t max_flows_;
    Duration idle_timeout_;
    std::list<Entry> lru_;  // least recently used first
    std::map<FlowKey, Iter> index_;
    FlowTableStats stats_;
};

}  // namespace tunless::proxy
