// proxy_protocol_fuzz: PROXY protocol v2 headers (haproxy proxy-protocol.txt §2.2) through the
// strict decoder, on the whole input and on the prefixes of its split schedule. A decoded
// PROXY header with addresses must encode back (encode_v2) to bytes that decode to the same
// addresses; LOCAL must round-trip through encode_v2_local.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"
#include "proxy/proxy_protocol.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
namespace pp = tunless::proxy::proxy_protocol;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ExactCopy input(ByteView(data, size));
    const auto r = parse_with_prefixes(pp::decode_v2, input.view());
    if (!r.done()) return 0;
    check(r.consumed >= pp::kFixedHeaderSize &&
              r.consumed <= pp::kFixedHeaderSize + pp::kMaxDecodedLength,
          "consumed outside the header bounds");
    if (r.value.addresses) {
        const auto enc = pp::encode_v2(*r.value.addresses);
        ExactCopy copy(enc.view());
        const auto again = pp::decode_v2(copy.view());
        check(again.done() && again.consumed == copy.size(), "encoded header does not decode");
        check(again.value.addresses.has_value(), "addresses lost in the round trip");
        // A v4/v6 mix is re-encoded as IPv6 with a v4-mapped side: compare unmapped.
        const auto& x = *r.value.addresses;
        const auto& y = *again.value.addresses;
        check(x.transport == y.transport && x.source_port == y.source_port &&
                  x.destination_port == y.destination_port &&
                  x.source.unmap_v4() == y.source.unmap_v4() &&
                  x.destination.unmap_v4() == y.destination.unmap_v4(),
              "addresses do not round-trip");
    }
    if (r.value.is_local) {
        const auto enc = pp::encode_v2_local();
        ExactCopy copy(enc.view());
        const auto again = pp::decode_v2(copy.view());
        check(again.done() && again.value.is_local, "LOCAL does not round-trip");
    }
    return 0;
}
