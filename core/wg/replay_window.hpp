// Anti-replay sliding window for transport-data counters (RFC 6479 bitmap ring, as in the
// kernel's counter_validate() and wireguard-go replay.ReplayFilter). One per receiving keypair.
// Not the handshake replay guard (that is the TAI64N timestamp check in the handshake).
// Called by the data receive path *after* the packet authenticated, so a forged counter can
// never move the window.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tunless::wg {

class ReplayWindow {
public:
    static constexpr std::size_t kBitsPerBlock = 64;
    // 128 blocks = 8192 bits = 1 KiB per keypair, the kernel's COUNTER_BITS_TOTAL and
    // wireguard-go's ringBlocks. One block is always being recycled, so the usable window is
    // one block less: 8128 counters behind the newest one are still accepted once.
    static constexpr std::size_t kRingBlocks = 128;
    static constexpr std::uint64_t kWindowSize = (kRingBlocks - 1) * kBitsPerBlock;
    // REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1 (WireGuard paper §6.1); the same value as
    // wg::kRejectAfterMessages in messages.hpp, repeated here so this leaf module stands alone.
    static constexpr std::uint64_t kRejectAfterMessages =
        ~std::uint64_t{0} - (std::uint64_t{1} << 13);

    ReplayWindow() = default;  // ready to use: nothing received yet

    // Returns true, and records the counter, if it was not seen before, is no more than
    // kWindowSize behind the newest counter accepted, and is below kRejectAfterMessages
    // (checked here as the kernel does, so callers need no separate check).
    // Returns false otherwise (DropReason::kReplayedCounter / kMessageLimit for the caller).
    [[nodiscard]] bool validate_counter(std::uint64_t counter) noexcept;

    // Forget everything (keypair reuse in tests; a new keypair normally gets a new window).
    void reset() noexcept;

private:
    std::uint64_t last_ = 0;  // newest accepted counter (0 also before the first packet)
    std::array<std::uint64_t, kRingBlocks> ring_{};
};

}  // namespace tunless::wg
