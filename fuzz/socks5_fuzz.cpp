// socks5_fuzz: a client byte stream as the SOCKS5 server sees it (RFC 1928/1929): greeting,
// the username/password request when the client offers that method, the request, then bytes
// that are treated as one UDP ASSOCIATE datagram. Each parser also runs on every prefix the
// input's split schedule produces (the prefix contract). Round trips: a parsed request target
// serialized by build_reply() and a UDP target by build_udp_header() parse back to the same.
// The seed files (fuzz/corpus/socks5) are plain client streams, checked by proxy_tests.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"
#include "proxy/socks5_codec.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
namespace s5 = tunless::proxy::socks5;

void check_request_round_trip(const s5::Request& req) {
    const auto reply = s5::build_reply(s5::Reply::kSucceeded, req.target);
    // A reply has the request's layout with REP where CMD is: put a command back and parse.
    ExactCopy copy(reply.view());
    copy.data()[1] = static_cast<std::uint8_t>(s5::Command::kConnect);
    const auto again = s5::parse_request(copy.view());
    check(again.done() && again.consumed == copy.size(), "reply does not parse as a request");
    check(again.value.target == req.target, "request target does not round-trip");
}

void check_udp(ByteView datagram) {
    // A datagram arrives whole, so no prefix contract here: a prefix is a truncated datagram.
    const auto u = s5::parse_udp_datagram(datagram);
    check(!u.need_more(), "UDP datagram parser asked for more bytes");
    if (!u.done()) return;
    check(u.value.payload.size() == datagram.size() - u.consumed, "UDP payload length");
    const auto header = s5::build_udp_header(u.value.target);
    ExactCopy copy(header.view());
    const auto again = s5::parse_udp_datagram(copy.view());
    check(again.done() && again.consumed == copy.size() && again.value.target == u.value.target,
          "UDP header does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ExactCopy input(ByteView(data, size));
    ByteView rest = input.view();

    const auto g = parse_with_prefixes(s5::parse_greeting, rest);
    // Every parser also sees the raw input, whatever the phase logic below decides.
    check_udp(rest);
    (void)parse_with_prefixes(s5::parse_auth_request, rest);
    if (!g.done()) return 0;
    const bool password = g.value.offers(s5::Method::kUserPass);
    (void)s5::build_method_selection(s5::select_method(g.value, password));
    (void)s5::select_method(g.value, !password);
    rest = rest.subspan(g.consumed);

    if (password) {
        ExactCopy phase(rest);
        const auto a = parse_with_prefixes(s5::parse_auth_request, phase.view());
        if (!a.done()) return 0;
        check(a.value.username.size() + a.value.password.size() + 3 == a.consumed,
              "auth field lengths");
        rest = rest.subspan(a.consumed);
    }

    ExactCopy req_bytes(rest);
    const auto r = parse_with_prefixes(s5::parse_request, req_bytes.view());
    if (r.failed()) {
        (void)s5::build_failure_reply(s5::reply_for(r.fault));
        (void)s5::fault_name(r.fault);
        return 0;
    }
    if (!r.done()) return 0;
    check_request_round_trip(r.value);
    ExactCopy tail(rest.subspan(r.consumed));
    if (r.value.command == s5::Command::kUdpAssociate) check_udp(tail.view());
    return 0;
}
