// The ts2021 record layer (tailscale control/controlbase/conn.go): framing, big-endian
// nonces, reassembly of records from arbitrary TCP splits.
#include <algorithm>
#include <limits>

#include "core/crypto/aead.hpp"
#include "core/tailnet/control_noise.hpp"

namespace tunless::tailnet {
namespace {

constexpr std::size_t kTagLen = crypto::kAeadTagLen;
// conn.go: counter 2^64-1 is never used ("invalidNonce"); the channel is exhausted before.
constexpr std::uint64_t kInvalidCounter = std::numeric_limits<std::uint64_t>::max();

// 4 zero bytes | counter BIG-endian (conn.go nonce type). Not WireGuard's little-endian.
std::array<std::uint8_t, crypto::kAeadNonceLen> record_nonce(std::uint64_t counter) {
    std::array<std::uint8_t, crypto::kAeadNonceLen> n{};
    store_be64(n.data() + 4, counter);
    return n;
}

}  // namespace

ControlChannel::ControlChannel(crypto::SymmetricKey tx_key, crypto::SymmetricKey rx_key,
                               HandshakeHash hash, std::uint16_t protocol_version)
    : tx_key_(std::move(tx_key)),
      rx_key_(std::move(rx_key)),
      hash_(hash),
      version_(protocol_version) {}

Status ControlChannel::poison(Errc code, const char* what) {
    poisoned_ = true;
    tx_key_.wipe();
    rx_key_.wipe();
    partial_.clear();
    return fail(code, what);
}

Status ControlChannel::seal(ByteView plaintext, Bytes& out) {
    if (poisoned_) {
        return fail(Errc::kClosed, "control noise: channel is closed after an earlier error");
    }
    const std::size_t records =
        (plaintext.size() + kNoiseMaxPlaintextLen - 1) / kNoiseMaxPlaintextLen;
    if (kInvalidCounter - tx_counter_ < records) {
        return poison(Errc::kLimitReached, "control noise: send nonces exhausted");
    }
    out.reserve(out.size() + plaintext.size() + records * (kNoiseHeaderLen + kTagLen));
    while (!plaintext.empty()) {
        const ByteView chunk = plaintext.first(std::min(plaintext.size(), kNoiseMaxPlaintextLen));
        plaintext = plaintext.subspan(chunk.size());
        const std::size_t at = out.size();
        out.resize(at + kNoiseHeaderLen + chunk.size() + kTagLen);
        out[at] = noise_type::kRecord;
        store_be16(out.data() + at + 1, static_cast<std::uint16_t>(chunk.size() + kTagLen));
        const auto nonce = record_nonce(tx_counter_++);
        crypto::aead_encrypt_nonce(
            MutByteView(out.data() + at + kNoiseHeaderLen, chunk.size() + kTagLen), tx_key_.view(),
            nonce, chunk, {});
    }
    return {};
}

Status ControlChannel::open_record(ByteView record, Bytes& plaintext_out) {
    if (rx_counter_ == kInvalidCounter) {
        return poison(Errc::kLimitReached, "control noise: receive nonces exhausted");
    }
    const ByteView ciphertext = record.subspan(kNoiseHeaderLen);
    const std::size_t at = plaintext_out.size();
    plaintext_out.resize(at + ciphertext.size() - kTagLen);
    const auto nonce = record_nonce(rx_counter_++);
    const Status st = crypto::aead_decrypt_nonce(
        MutByteView(plaintext_out.data() + at, ciphertext.size() - kTagLen), rx_key_.view(), nonce,
        ciphertext, {});
    if (!st) {
        plaintext_out.resize(at);
        return poison(Errc::kAuthFailed, "control noise: record does not decrypt");
    }
    return {};
}

Status ControlChannel::read_header(const std::uint8_t* hdr) {
    if (hdr[0] != noise_type::kRecord) {
        return poison(Errc::kProtocol, "control noise: unexpected message type");
    }
    const std::size_t len = load_be16(hdr + 1);
    if (len > kNoiseMaxCiphertextLen) {
        return poison(Errc::kProtocol, "control noise: record exceeds 4096 bytes");
    }
    if (len < kTagLen) {
        return poison(Errc::kProtocol, "control noise: record shorter than its tag");
    }
    partial_total_ = kNoiseHeaderLen + len;
    return {};
}

// Records are parsed in place from `in` when whole; only a record split across calls is
// copied into partial_, which therefore never exceeds one maximum record (4096 bytes).
Status ControlChannel::open(ByteView in, Bytes& plaintext_out) {
    if (poisoned_) {
        return fail(Errc::kClosed, "control noise: channel is closed after an earlier error");
    }
    while (!in.empty()) {
        const bool fresh = partial_.empty();
        const std::size_t have = fresh ? in.size() : partial_.size();
        if (partial_total_ == 0 && have >= kNoiseHeaderLen) {
            if (auto st = read_header(fresh ? in.data() : partial_.data()); !st) {
                return st;
            }
        }
        if (fresh && partial_total_ != 0 && in.size() >= partial_total_) {
            const ByteView record = in.first(partial_total_);
            in = in.subspan(partial_total_);
            partial_total_ = 0;
            if (auto st = open_record(record, plaintext_out); !st) {
                return st;
            }
            continue;
        }
        // Incomplete: buffer up to the header, or up to the end of the record.
        const std::size_t want = partial_total_ != 0 ? partial_total_ : kNoiseHeaderLen;
        const std::size_t take = std::min(in.size(), want - partial_.size());
        partial_.insert(partial_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
        in = in.subspan(take);
        // A header completed by this call is judged now, not when more bytes come: a bad
        // header must fail however the stream was cut (found by control_noise fuzzing).
        if (partial_total_ == 0 && partial_.size() == kNoiseHeaderLen) {
            if (auto st = read_header(partial_.data()); !st) {
                return st;
            }
        }
        if (partial_total_ != 0 && partial_.size() == partial_total_) {
            partial_total_ = 0;
            const Status st = open_record(partial_, plaintext_out);
            partial_.clear();
            if (!st) {
                return st;
            }
        }
    }
    return {};
}

}  // namespace tunless::tailnet
