#include "core/wg/rate_limiter.hpp"

#include <algorithm>

namespace tunless::wg {

namespace {

constexpr std::int64_t kPacketCost =
    std::int64_t{1'000'000'000} / kRateLimitPacketsPerSecond;  // ns of credit per message
constexpr std::int64_t kMaxTokens = kPacketCost * kRateLimitBurst;
constexpr std::size_t kSlots = 2 * kRateLimitTableSize;  // load factor <= 1/2
static_assert((kSlots & (kSlots - 1)) == 0, "slot count must be a power of two");

}  // namespace

bool UnderLoadDetector::record(Instant now) {
    if (count_ == 0 || now - window_start_ >= kUnderLoadWindow) {
        window_start_ = now;
        count_ = 0;
    }
    ++count_;
    if (count_ >= threshold_) until_ = now + kUnderLoadAfterTime;
    return under_load(now);
}

bool UnderLoadDetector::under_load(Instant now) const {
    if (override_) return *override_;
    return until_ && now < *until_;
}

SourceRateLimiter::SourceRateLimiter(Rng& rng) : table_(kSlots) {
    scratch_.reserve(kRateLimitTableSize);
    std::uint8_t b[8];
    rng.fill(b);
    seed_ = load_le64(b) | 1;
}

SourceRateLimiter::Key SourceRateLimiter::key_for(const Endpoint& from) {
    Key k;
    if (from.kind == Endpoint::Kind::kRelay) {
        k.family = 0xff;
        k.addr = from.relay_region;
        return k;
    }
    const IpAddress ip = from.ip.unmap_v4();
    if (ip.is_v4()) {
        k.family = 4;
        k.addr = load_be32(ip.data());
    } else {
        k.family = 6;
        k.addr = load_be64(ip.data());  // the /64 prefix (kernel ratelimiter.c)
    }
    return k;
}

std::size_t SourceRateLimiter::slot_for(const Key& k) const {
    std::uint64_t h = (k.addr ^ (std::uint64_t{k.family} << 56)) * seed_;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return static_cast<std::size_t>(h) & (kSlots - 1);
}

void SourceRateLimiter::collect(Instant now) {
    // Rebuild without idle entries: O(slots) at most once per kRateLimitEntryIdle, and only
    // while under load (the only time allow() is called).
    scratch_.clear();
    for (const Entry& e : table_) {
        if (e.used && now - e.last <= kRateLimitEntryIdle) scratch_.push_back(e);
    }
    std::fill(table_.begin(), table_.end(), Entry{});
    used_ = 0;
    for (const Entry& e : scratch_) {
        std::size_t i = slot_for(e.key);
        while (table_[i].used) i = (i + 1) & (kSlots - 1);
        table_[i] = e;
        ++used_;
    }
    last_collect_ = now;
}

bool SourceRateLimiter::allow(const Endpoint& from, Instant now) {
    if (now - last_collect_ >= kRateLimitEntryIdle) collect(now);
    const Key k = key_for(from);
    std::size_t i = slot_for(k);
    while (table_[i].used) {
        Entry& e = table_[i];
        if (e.key == k) {
            const std::int64_t earned = (now - e.last).count();
            e.tokens = std::min(kMaxTokens, e.tokens + std::max<std::int64_t>(earned, 0));
            e.last = now;
            if (e.tokens < kPacketCost) return false;
            e.tokens -= kPacketCost;
            return true;
        }
        i = (i + 1) & (kSlots - 1);
    }
    if (used_ >= kRateLimitTableSize) return false;
    table_[i] = Entry{k, true, kMaxTokens - kPacketCost, now};
    ++used_;
    return true;
}

}  // namespace tunless::wg
