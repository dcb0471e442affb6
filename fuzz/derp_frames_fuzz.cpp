// derp_frames_fuzz: a DERP server's byte stream into DerpClientSession, as the client reads
// it after the HTTP 101. Fixed node and server keys, so the harness can open the session
// with a valid ServerKey and seal real ServerInfo boxes.
//
// Input: [flags u8][rest...]
//   flags bit 0: prepend a valid ServerKey frame (else the greeting is whatever rest holds)
//   flags bit 1: rest is a list of [type u8][len u16][payload] frames the harness encodes
//                with correct length fields (ServerInfo payloads are sealed when bit 2 is
//                set, so the JSON parser is reached); else rest is the raw stream
//   flags bit 3: the session is for our home region (NotePreferred after ClientInfo)
// The stream is fed whole to one session and in its split schedule to another: events and
// written bytes must be identical. Whatever the session writes must be well-formed frames of
// the client-to-server types. Timers run at a few instants afterwards.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/crypto/init.hpp"
#include "core/crypto/x25519.hpp"
#include "core/tailnet/derp_client_session.hpp"
#include "core/tailnet/derp_frames.hpp"
#include "fuzz/fixed_key_pair.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"
#include "tests/support/test_rng.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
using namespace tunless::tailnet;
using namespace std::chrono_literals;

struct Keys {
    FixedKeyPair node{1};
    FixedKeyPair server{2};
};

void append_frame(Bytes& out, std::uint8_t type, ByteView payload) {
    derp::append_frame_header(out, type, static_cast<std::uint32_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
}

void append_sealed_info(Bytes& out, const Keys& k, ByteView json) {
    Bytes p(derp::kNonceLen + derp::kBoxOverhead + json.size());
    check(crypto_box_easy(p.data() + derp::kNonceLen, json.data(), json.size(), p.data(),
                          k.node.pub.bytes.data(), k.server.priv.data()) == 0,
          "sealing ServerInfo failed");
    append_frame(out, derp::kServerInfo, p);
}

struct Run {
    Bytes out;
    std::vector<DerpEvent> events;
    bool failed = false;
    std::size_t packets = 0;
};

Run run(const Keys& k, bool home, ByteView stream, const std::vector<std::size_t>& cuts) {
    test::SeededRng rng(3);
    const Instant t0 = Instant{} + 1h;
    DerpClientSession s(k.node.priv, rng, home, t0);
    Run r;
    std::size_t prev = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(stream.size());
    for (std::size_t end : ends) {
        if (!s.on_bytes(t0, stream.subspan(prev, end - prev), r.out, r.events)) {
            r.failed = true;
            check(s.is_dead(), "error without a failed session");
            break;
        }
        prev = end;
    }
    for (const auto& e : r.events) {
        check(e.packet.size() <= derp::kMaxPacketLen, "packet event over 64 KiB");
        if (e.kind == DerpEventKind::kPacket) {
            ++r.packets;
        }
    }
    check(r.packets == s.stats().packets_received, "packet counter");
    Bytes pkt(1 + stream.size() % 2000, 0x45);
    const bool sent = s.send_packet(k.server.pub, pkt, r.out).has_value();
    check(sent == s.is_connected(), "send_packet verdict differs from the session state");
    for (Duration d : {69s, 70s, 119s, 120s}) {
        const Instant deadline = s.next_deadline();
        check(s.is_dead() ? deadline == kNever : deadline <= t0 + kDerpDeadAfter, "deadline range");
        s.on_timer(t0 + d, r.out, r.events);
    }
    check(s.is_dead(), "alive after 120 s of silence");
    return r;
}

// Everything a client writes is a sequence of whole client-to-server frames.
void check_client_frames(ByteView out) {
    while (!out.empty()) {
        const auto h = derp::parse_frame_header(out);
        check(h.has_value(), "partial frame header written");
        check(out.size() >= derp::kFrameHeaderLen + h->length, "partial frame written");
        switch (h->type) {
            case derp::kClientInfo:
            case derp::kSendPacket:
                check(h->length >= derp::kKeyLen, "short key frame written");
                break;
            case derp::kNotePreferred: check(h->length == 1, "NotePreferred length"); break;
            case derp::kPing:
            case derp::kPong: check(h->length == 8, "ping/pong length"); break;
            default: check(false, "client wrote a server-only frame type");
        }
        out = out.subspan(derp::kFrameHeaderLen + h->length);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ok = crypto::init();
    check(ok, "crypto::init failed");
    static const Keys keys;
    ExactCopy input(ByteView(data, size));
    FuzzInput in(input.view());
    const std::uint8_t flags = in.u8();

    Bytes stream;
    if (flags & 1) {
        Bytes p(derp::kMagic.begin(), derp::kMagic.end());
        p.insert(p.end(), keys.server.pub.bytes.begin(), keys.server.pub.bytes.end());
        append_frame(stream, derp::kServerKey, p);
    }
    if (flags & 2) {
        while (!in.empty()) {
            const std::uint8_t type = in.u8();
            const ByteView payload = in.bytes(in.u16());
            if (type == derp::kServerInfo && (flags & 4)) {
                append_sealed_info(stream, keys, payload);
            } else {
                append_frame(stream, type, payload);
            }
        }
    } else {
        const ByteView rest = in.rest();
        stream.insert(stream.end(), rest.begin(), rest.end());
    }

    const ExactCopy wire{ByteView(stream)};
    const bool home = (flags & 8) != 0;
    const Run whole = run(keys, home, wire.view(), {});
    const Run split = run(keys, home, wire.view(), split_points(wire.view(), 600));
    check(whole.failed == split.failed, "split changes the verdict");
    check(whole.out == split.out, "split changes what the client writes");
    check(whole.events.size() == split.events.size(), "split changes the events");
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
        check(whole.events[i].kind == split.events[i].kind, "split changes an event kind");
        check(whole.events[i].peer == split.events[i].peer, "split changes an event key");
        check(whole.events[i].packet == split.events[i].packet, "split changes a packet");
        check(whole.events[i].text == split.events[i].text, "split changes a text");
    }
    check_client_frames(whole.out);
    return 0;
}
