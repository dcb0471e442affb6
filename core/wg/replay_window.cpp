#include "core/wg/replay_window.hpp"

#include <algorithm>

namespace tunless::wg {

static_assert((ReplayWindow::kRingBlocks & (ReplayWindow::kRingBlocks - 1)) == 0,
              "ring index wraps with a mask");
static_assert(ReplayWindow::kWindowSize >= 2048);
static_assert(ReplayWindow::kRejectAfterMessages == 18446744073709543423ULL);  // 2^64-2^13-1

namespace {
constexpr unsigned kBlockBitLog = 6;  // 64 bits per block
constexpr std::uint64_t kBlockMask = ReplayWindow::kRingBlocks - 1;
constexpr std::uint64_t kBitMask = ReplayWindow::kBitsPerBlock - 1;
}  // namespace

bool ReplayWindow::validate_counter(std::uint64_t counter) noexcept {
    if (counter >= kRejectAfterMessages) {
        return false;
    }
    const std::uint64_t block = counter >> kBlockBitLog;
    if (counter > last_) {
        // Slide forward: clear every block between the old newest and the new one (at most the
        // whole ring). Blocks are cleared lazily, so no bit loop per packet (RFC 6479 §2).
        const std::uint64_t current = last_ >> kBlockBitLog;
        const std::uint64_t diff = std::min<std::uint64_t>(block - current, kRingBlocks);
        for (std::uint64_t i = current + 1; i <= current + diff; ++i) {
            ring_[i & kBlockMask] = 0;
        }
        last_ = counter;
    } else if (last_ - counter > kWindowSize) {
        return false;  // too old to tell
    }
    std::uint64_t& word = ring_[block & kBlockMask];
    const std::uint64_t bit = std::uint64_t{1} << (counter & kBitMask);
    const bool seen = (word & bit) != 0;
    word |= bit;
    return !seen;
}

void ReplayWindow::reset() noexcept {
    last_ = 0;
    ring_.fill(0);
}

}  // namespace tunless::wg
