// Clock-reset safety for handshake timestamps. A peer drops any initiation whose TAI64N is not
// later than the last one it accepted from us (WireGuard paper §5.1, replay of initiations).
// A cellular module without RTC reboots at 1970 (or at the build date), so after a reboot its
// initiations would be refused until the clock is set. We persist a floor per private key in
// the state directory and restore it with wg::Device::set_timestamp_floor at start.
// Not a clock: the device still uses max(wall clock, floor + 1 tick). Called by app::Node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/crypto/tai64n.hpp"
#include "core/wg/device.hpp"

namespace tunless::app {

// The floor written is this far AHEAD of the newest timestamp sent, and it is rewritten only
// when a sent timestamp comes within kTimestampRefreshMargin of it: at most one write per
// (lead - margin) of handshaking (~50 min) instead of one per handshake (every 2 min), which
// spares the flash. The cost: after a reboot with a reset clock our timestamps run up to one
// lead ahead of real time, which peers accept (they only require "later than before").
inline constexpr std::int64_t kTimestampLeadSeconds = 3600;
inline constexpr std::int64_t kTimestampRefreshMarginSeconds = 600;

// Unix seconds of a TAI64N label (the 2^62 + 10 offset removed).
std::int64_t tai64n_unix_seconds(const crypto::Tai64n& t);
crypto::Tai64n tai64n_at_unix_seconds(std::int64_t seconds);

// "timestamp-<32 hex>" from BLAKE2s-128 of the public key: one file per identity, and the file
// name does not publish the key.
std::string timestamp_file_name(const crypto::PublicKey& pub);
// File content: "tai64n <24 lowercase hex>\n". parse is strict (nullopt on anything else).
std::string format_timestamp_file(const crypto::Tai64n& t);
std::optional<crypto::Tai64n> parse_timestamp_file(std::string_view text);

// The floor to write now, or nullopt. `stored`: what the file holds; `last_sent`: the newest
// timestamp the device sent; `restored`: the floor handed to the device at start (not a send).
std::optional<crypto::Tai64n> next_timestamp_floor(const std::optional<crypto::Tai64n>& stored,
                                                   const crypto::Tai64n& last_sent,
                                                   const crypto::Tai64n& restored);

// Reads/writes DIR/timestamp-<hash>. save(): temp file (0600) + fsync + rename + fsync(DIR).
Result<std::optional<crypto::Tai64n>> load_timestamp_floor(const std::string& path);
Status save_timestamp_floor(const std::string& path, const crypto::Tai64n& floor);

// Ties the policy to a device: restore at start, check() periodically and at shutdown.
class TimestampGuard {
public:
    // Restores the stored floor of the device's current key into `device`.
    TimestampGuard(std::string dir, wg::Device& device);
    // Writes a new floor if the policy asks for one; follows a private-key change (reload).
    void check();
    const std::string& path() const { return path_; }
    std::uint64_t writes() const { return writes_; }

private:
    void restore();

    std::string dir_;
    wg::Device& device_;
    crypto::PublicKey key_;
    std::string path_;
    std::optional<crypto::Tai64n> stored_;
    crypto::Tai64n restored_{};
    std::uint64_t writes_ = 0;
    bool write_failed_logged_ = false;
};

// The state directory for the floor: `configured` if set, else the default state directory
// (tools/tunless/state_dir.hpp) when it can be created; empty (with a warning) otherwise.
std::string timestamp_state_dir(const std::string& configured);

// WallClock shifted by a fixed offset. TEST ONLY: TUNLESS_TEST_WALL_OFFSET_S=<seconds> (may be
// negative) simulates a clock reset in tests/netns/resilience_test.sh; 0 when unset/invalid.
class OffsetWallClock final : public WallClock {
public:
    OffsetWallClock(WallClock& base, std::int64_t offset_s) : base_(base), offset_s_(offset_s) {}
    WallTime now() override;

private:
    WallClock& base_;
    std::int64_t offset_s_;
};
std::int64_t test_wall_offset_from_env();

}  // namespace tunless::app
