// Session keypairs of one peer and their rotation (paper §5.4.5, §6.1; wireguard-go
// BeginSymmetricSession/ReceivedWithKeypair; kernel noise.c add_new_keypair). A responder's new
// keypair waits in `next` until the initiator's first data packet confirms it.
// Rotation reports which receiver indices it dropped; the device releases them.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/wg/replay_window.hpp"

namespace tunless::wg {

struct Keypair {
    crypto::SymmetricKey send_key;
    crypto::SymmetricKey recv_key;
    std::uint64_t send_counter = 0;  // next nonce to use
    ReplayWindow replay;
    Instant created{};
    bool initiator = false;
    std::uint32_t local_index = 0;   // the index the peer puts in packets to us
    std::uint32_t remote_index = 0;  // the index we put in packets to the peer
};

// Up to three receiver indices freed by one rotation or clear.
struct ReleasedIndices {
    std::array<std::uint32_t, 3> index{};
    std::size_t count = 0;
    void add(const std::unique_ptr<Keypair>& kp) {
        if (kp && count < index.size()) index[count++] = kp->local_index;
    }
};

class Keypairs {
public:
    Keypair* current() const { return current_.get(); }
    Keypair* previous() const { return previous_.get(); }
    Keypair* next() const { return next_.get(); }
    bool empty() const { return !current_ && !previous_ && !next_; }

    // Installs a freshly derived keypair. Initiator: it becomes current, the old current
    // becomes previous (or a pending `next` does, which then had never been confirmed).
    // Responder: it becomes next; the old next and previous are dropped, current stays.
    void install(std::unique_ptr<Keypair> kp, ReleasedIndices& released);
    // Data authenticated under `kp` arrived. If `kp` is the pending next keypair it is
    // promoted to current (true: the responder's handshake is now complete).
    bool confirm(const Keypair* kp, ReleasedIndices& released);
    Keypair* find(std::uint32_t local_index) const;
    void clear(ReleasedIndices& released);
    // After our private key changed: current and next may no longer send (wireguard-go
    // ExpireCurrentKeypairs); they can still decrypt what is in flight.
    void expire_sending();

private:
    std::unique_ptr<Keypair> current_;
    std::unique_ptr<Keypair> previous_;
    std::unique_ptr<Keypair> next_;
};

}  // namespace tunless::wg
