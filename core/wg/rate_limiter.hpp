// Handshake load control for the device (paper §5.3): UnderLoadDetector decides when to ask
// for cookies (from the recent rate of handshake messages), SourceRateLimiter is the
// per-source-address token bucket applied to cookie-carrying messages while under load
// (wireguard-go ratelimiter/, kernel ratelimiter.c). Bounded tables, no clock reads.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/ip_address.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/wg/limits.hpp"

namespace tunless::wg {

class UnderLoadDetector {
public:
    // Counts one handshake message (valid mac1) at `now`; returns under_load(now) afterwards.
    bool record(Instant now);
    bool under_load(Instant now) const;

    // Tests and operators: force the decision (nullopt = automatic) or move the threshold.
    void set_override(std::optional<bool> forced) { override_ = forced; }
    void set_threshold(std::uint32_t per_window) { threshold_ = per_window; }

private:
    std::uint32_t threshold_ = kUnderLoadHandshakesPerSecond;
    Instant window_start_{};
    std::uint32_t count_ = 0;
    std::optional<Instant> until_;
    std::optional<bool> override_;
};

class SourceRateLimiter {
public:
    // The hash seed comes from `rng` so a remote cannot aim collisions at the table.
    explicit SourceRateLimiter(Rng& rng);

    // True if a message from `from` may be processed now. IPv4 sources are limited per
    // address, IPv6 per /64, relay paths per region. A full table denies new sources.
    bool allow(const Endpoint& from, Instant now);
    std::size_t size() const { return used_; }

private:
    struct Key {
        std::uint64_t addr = 0;
        std::uint8_t family = 0;
        bool operator==(const Key&) const = default;
    };
    struct Entry {
        Key key;
        bool used = false;
        std::int64_t tokens = 0;  // nanoseconds of credit (wireguard-go style)
        Instant last{};
    };
    static Key key_for(const Endpoint& from);
    std::size_t slot_for(const Key& k) const;
    void collect(Instant now);

    std::vector<Entry> table_;  // 2x kRateLimitTableSize slots, linear probing
    std::vector<Entry> scratch_;  // reused by collect()
    std::size_t used_ = 0;
    std::uint64_t seed_ = 0;
    Instant last_collect_{};
};

}  // namespace tunless::wg
