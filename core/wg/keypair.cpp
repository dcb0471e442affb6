#include "core/wg/keypair.hpp"

#include "core/wg/messages.hpp"

namespace tunless::wg {

void Keypairs::install(std::unique_ptr<Keypair> kp, ReleasedIndices& released) {
    if (kp->initiator) {
        if (next_) {
            // An unconfirmed responder keypair is newer than current: keep it as previous so
            // data the peer already sent with it still decrypts.
            released.add(current_);
            released.add(previous_);
            previous_ = std::move(next_);
        } else {
            released.add(previous_);
            previous_ = std::move(current_);
        }
        current_ = std::move(kp);
    } else {
        released.add(next_);
        released.add(previous_);
        previous_.reset();
        next_ = std::move(kp);
    }
}

bool Keypairs::confirm(const Keypair* kp, ReleasedIndices& released) {
    if (kp == nullptr || kp != next_.get()) return false;
    released.add(previous_);
    previous_ = std::move(current_);
    current_ = std::move(next_);
    return true;
}

Keypair* Keypairs::find(std::uint32_t local_index) const {
    if (current_ && current_->local_index == local_index) return current_.get();
    if (next_ && next_->local_index == local_index) return next_.get();
    if (previous_ && previous_->local_index == local_index) return previous_.get();
    return nullptr;
}

void Keypairs::clear(ReleasedIndices& released) {
    released.add(current_);
    released.add(previous_);
    released.add(next_);
    current_.reset();
    previous_.reset();
    next_.reset();
}

void Keypairs::expire_sending() {
    if (current_) current_->send_counter = kRejectAfterMessages;
    if (next_) next_->send_counter = kRejectAfterMessages;
}

}  // namespace tunless::wg
