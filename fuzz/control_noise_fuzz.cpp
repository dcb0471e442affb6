// control_noise_fuzz: what a ts2021 client reads after POST /ts2021: an HTTP/1.1 response
// head, the Noise handshake reply, then Noise records carrying the early payload and HTTP/2.
// Fixed keys (those of tests/unit/tailnet/vectors/control_noise_vectors.py), so the harness
// can put the one valid response in front and seal fuzzed plaintext into valid records.
//
// Input: [flags u8][rest...]
//   flags bit 0: prepend the valid 51-byte handshake response to the reply stream
//   flags bit 1: rest (after the head, if any) is a list of [u16 len][plaintext] chunks the
//                harness seals with the server's key into records (so the record layer, the
//                early-payload filter and the reassembly are reached); else rest is raw
//   flags bit 2: with bit 1, flip one bit of the sealed stream at a fuzzer-chosen offset
//   flags bit 3: rest starts with an HTTP response head (parsed with the prefix contract,
//                its body framing fed to BodyReader); the Noise reply follows the head
// The reply stream is fed in the chunks of its split schedule and, separately, whole: both
// must reach the same verdict and the same plaintext. Valid sealed input must decrypt exactly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/crypto/init.hpp"
#include "core/tailnet/control_noise.hpp"
#include "core/tailnet/early_payload.hpp"
#include "core/tailnet/http1.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
using namespace tunless::tailnet;

constexpr std::uint16_t kVersion = 130;

Bytes hex(std::string_view h) {
    auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    Bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nib(h[i]) * 16 + nib(h[i + 1])));
    }
    return out;
}

// From control_noise_vectors.py.
const Bytes kMachinePriv = hex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
const Bytes kControlPub = hex("64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466");
const Bytes kClientEph = hex("8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0");
const Bytes kResponse = hex(
    "0200303a553d74792d727efa9b9a4cde3da1ad93f1a2d0c09cb639b1a3c0fda14cbe24298a46690bb25482a0ee03"
    "bfe2d320ec");
const Bytes kK1 = hex("31f30c46ac033019baafa7863162463ba111d10fa51592725b06f24ac469720e");
const Bytes kK2 = hex("2aecc4e7049a761e392ee4ca2efc642d5d3a4ee59bb213c4025cf6c47c9ec02b");

class FixedRng final : public Rng {
public:
    void fill(MutByteView out) override {
        for (auto& b : out) {
            b = pos_ < kClientEph.size() ? kClientEph[pos_++] : 0;
        }
    }

private:
    std::size_t pos_ = 0;
};

ControlHandshake new_handshake() {
    FixedRng rng;
    crypto::PublicKey control;
    std::copy(kControlPub.begin(), kControlPub.end(), control.bytes.begin());
    auto hs = ControlHandshake::create(crypto::PrivateKey(kMachinePriv), control, kVersion, rng);
    check(hs.has_value(), "handshake creation failed with fixed keys");
    return std::move(*hs);
}

struct Outcome {
    bool established = false;
    bool failed = false;
    Errc code = Errc::kProtocol;
    Bytes plaintext;
};

// Feeds `stream` cut at `cuts` through handshake then channel, as a client would.
Outcome run(ByteView stream, const std::vector<std::size_t>& cuts) {
    Outcome o;
    ControlHandshake hs = new_handshake();
    std::optional<ControlChannel> ch;
    Bytes pending;
    std::size_t prev = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(stream.size());
    for (std::size_t end : ends) {
        const ByteView piece = stream.subspan(prev, end - prev);
        prev = end;
        Status st;
        if (ch) {
            st = ch->open(piece, o.plaintext);
        } else {
            pending.insert(pending.end(), piece.begin(), piece.end());
            auto step = hs.read_response(pending);
            if (!step) {
                st = step.error();
            } else if (!step->need_more()) {
                check(step->consumed == kNoiseResponseLen, "handshake consumed length");
                ch = std::move(step->channel);
                o.established = true;
                st = ch->open(ByteView(pending).subspan(step->consumed), o.plaintext);
            }
        }
        if (!st) {
            o.failed = true;
            o.code = st.error().code;
            check(!ch || ch->is_poisoned(), "channel error without poisoning");
            break;
        }
    }
    check(o.plaintext.size() <= stream.size(), "more plaintext than input");
    return o;
}

void parse_head(ByteView rest, ByteView& stream) {
    auto whole = parse_response_head(rest);
    for (std::size_t cut : split_points(rest, 64)) {
        auto part = parse_response_head(rest.first(cut));
        if (part && part->need_more()) {
            continue;
        }
        check(part.has_value() == whole.has_value(), "head prefix verdict differs");
        if (part && whole) {
            check(part->consumed == whole->consumed, "head prefix consumed differs");
        }
        break;
    }
    if (!whole || whole->need_more()) {
        return;
    }
    check(whole->consumed > 0 && whole->consumed <= rest.size(), "head consumed range");
    stream = rest.subspan(whole->consumed);
    (void)check_upgrade_response(*whole->head, kControlUpgradeToken);
    auto body = BodyReader::for_response(*whole->head, 4096);
    if (body) {
        auto used = body->feed(stream);
        if (used) {
            check(*used <= stream.size(), "body consumed range");
            check(body->body().size() <= 4096, "body over its cap");
        }
        (void)body->on_eof();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ok = crypto::init();
    check(ok, "crypto::init failed");
    ExactCopy input(ByteView(data, size));
    FuzzInput in(input.view());
    const std::uint8_t flags = in.u8();
    ByteView rest = in.rest();
    if (flags & 8) {
        parse_head(rest, rest);
    }

    Bytes stream;
    if (flags & 1) {
        stream = kResponse;
    }
    Bytes sealed_plain;
    if (flags & 2) {
        HandshakeHash h{};
        ControlChannel server(crypto::SymmetricKey(kK2), crypto::SymmetricKey(kK1), h, kVersion);
        FuzzInput chunks(rest);
        const std::uint16_t flip_at = chunks.u16();
        while (!chunks.empty()) {
            const ByteView piece = chunks.bytes(chunks.u16() % 9000);
            check(server.seal(piece, stream).has_value(), "seal failed");
            sealed_plain.insert(sealed_plain.end(), piece.begin(), piece.end());
        }
        if ((flags & 4) && !stream.empty()) {
            stream[flip_at % stream.size()] ^= static_cast<std::uint8_t>(1u << (flip_at >> 13));
        }
    } else {
        stream.insert(stream.end(), rest.begin(), rest.end());
    }

    const ExactCopy wire{ByteView(stream)};
    const Outcome split = run(wire.view(), split_points(wire.view(), 700));
    const Outcome whole = run(wire.view(), {});
    check(split.established == whole.established, "split changes the handshake verdict");
    check(split.failed == whole.failed && (!split.failed || split.code == whole.code),
          "split changes the error");
    check(split.plaintext == whole.plaintext, "split changes the plaintext");
    if ((flags & 7) == 3) {
        check(whole.established && !whole.failed, "valid sealed stream rejected");
        check(whole.plaintext == sealed_plain, "valid sealed stream decrypts differently");
    }

    EarlyPayloadFilter early;
    Bytes h2;
    for (std::size_t prev = 0, i = 0; prev < whole.plaintext.size(); ++i) {
        const std::size_t n = std::min<std::size_t>(whole.plaintext.size() - prev, 1 + i % 13);
        if (!early.feed(ByteView(whole.plaintext).subspan(prev, n), h2)) {
            break;
        }
        prev += n;
    }
    check(h2.size() <= whole.plaintext.size(), "early filter invented bytes");
    if (auto json = early.take_early_json()) {
        check(json->size() <= kEarlyPayloadMaxLen, "early JSON over its cap");
    }
    return 0;
}
