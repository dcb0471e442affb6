// wg_message_fuzz: one datagram against wg::parse() and a fresh wg::Device with fixed keys.
//
// Input: [flags u8][datagram...]
//   flags bit 0: rewrite mac1 to a valid one (for our device's key) when the datagram has the
//                size of an initiation or a response, so mutated bodies reach the Noise code
//   flags bit 1: the device first initiates a handshake to its peer; a response/cookie
//                reply/transport datagram then gets that initiation's sender index as its
//                receiver index, so it reaches the per-handshake code
//   flags bit 2: device forced "under load" (mac2 + rate limit path)
//   flags bit 3: the datagram comes from an IPv6 endpoint (else IPv4); bit 4: from a relay
// Every iteration builds a new Device: nothing carries over between inputs.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "core/wg/device.hpp"
#include "core/wg/messages.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/wg_fuzz_support.hpp"
#include "tests/support/test_rng.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;

// Touches every accessor of the view parse() returned: all must stay inside the datagram.
std::uint64_t walk_views(const wg::ParsedMessage& m) {
    std::uint64_t acc = 0;
    auto sum = [&acc](ByteView v) {
        for (std::uint8_t b : v) acc += b;
    };
    if (const auto* i = std::get_if<wg::InitiationView>(&m)) {
        acc += i->sender();
        sum(i->ephemeral());
        sum(i->encrypted_static());
        sum(i->encrypted_timestamp());
        sum(i->mac1());
        sum(i->mac2());
        check(i->bytes().size() == wg::initiation::kSize, "initiation size");
    } else if (const auto* r = std::get_if<wg::ResponseView>(&m)) {
        acc += r->sender() + r->receiver();
        sum(r->ephemeral());
        sum(r->encrypted_empty());
        sum(r->mac1());
        sum(r->mac2());
        check(r->bytes().size() == wg::response::kSize, "response size");
    } else if (const auto* c = std::get_if<wg::CookieReplyView>(&m)) {
        acc += c->receiver();
        sum(c->nonce());
        sum(c->encrypted_cookie());
        check(c->bytes().size() == wg::cookie_reply::kSize, "cookie reply size");
    } else if (const auto* t = std::get_if<wg::TransportView>(&m)) {
        acc += t->receiver() + t->counter();
        sum(t->encrypted_content());
        check(t->bytes().size() >= wg::transport::kMinSize, "transport size");
        check(t->plaintext_len() + wg::transport::kMinSize == t->bytes().size(),
              "transport plaintext length");
    }
    return acc;
}

void patch_receiver(MutByteView msg, std::uint32_t index) {
    std::size_t at = 0;
    if (msg.size() == wg::response::kSize) {
        at = wg::response::kReceiver;
    } else if (msg.size() == wg::cookie_reply::kSize) {
        at = wg::cookie_reply::kReceiver;
    } else if (msg.size() >= wg::transport::kMinSize && msg[0] == 4) {
        at = wg::transport::kReceiver;
    } else {
        return;
    }
    store_le32(msg.data() + at, index);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    init_crypto_once();
    FuzzInput in(ByteView(data, size));
    const std::uint8_t flags = in.u8();
    ExactCopy dgram(in.rest());

    MessageTarget t;
    wg::Device& dev = t.dev;
    const auto peer = t.peer;
    if (flags & 4) dev.set_under_load_override(true);

    wg::Outbox out;
    const Instant now = t.clock.now_mono();
    if (flags & 2) {
        check(dev.initiate(now, peer, out).has_value(), "initiate");
        check(out.datagrams().size() == 1, "one initiation");
        const ByteView init = out.datagrams()[0].bytes;
        check(init.size() == wg::initiation::kSize, "initiation length");
        patch_receiver(dgram.span(), load_le32(init.data() + wg::initiation::kSender));
        out.clear();
    }
    if (flags & 1) write_valid_mac1(dgram.span(), dev.public_key());

    const wg::ParsedMessage parsed = wg::parse(dgram.view());
    (void)walk_views(parsed);

    Endpoint from = *Endpoint::parse_numeric("192.0.2.2:51820");
    if (flags & 8) from = *Endpoint::parse_numeric("[2001:db8::2]:51820");
    if (flags & 16) from = Endpoint::relay(7);
    dev.on_datagram(now, from, dgram.view(), out);
    for (const auto& d : out.datagrams()) {
        check(!std::holds_alternative<wg::DropReason>(wg::parse(d.bytes)), "device sent garbage");
    }
    check(out.packets().empty(), "no session, yet a packet was delivered");
    return 0;
}
