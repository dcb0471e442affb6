// dns_message_fuzz: DNS responses (RFC 1035 §4) through proxy::dns::parse_response, which the
// stub resolver runs on whatever a DNS server over the mesh answers.
//
// Input: [flags u8][id u16 LE][message...]
//   flags bit 0: we asked for AAAA (else A); bits 1-2: which of four fixed question names
// Oracles: an accepted response holds at most kMaxAddresses addresses, all of the family asked
// for; our own query is never accepted as a response; HostName::parse of the message bytes as
// text gives a lower-case name that parses to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_input.hpp"
#include "proxy/dns_message.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
namespace dns = tunless::proxy::dns;

const dns::HostName& question_name(std::uint8_t i) {
    static const dns::HostName names[] = {
        *dns::HostName::parse("example.com"),
        *dns::HostName::parse("peer.mesh"),
        *dns::HostName::parse("a"),
        *dns::HostName::parse("very-long-label-" + std::string(47, 'x') + ".sub.example.org."),
    };
    return names[i % 4];
}

void check_host_name_text(ByteView bytes) {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()),
                                bytes.size() < 300 ? bytes.size() : 300);
    const auto name = dns::HostName::parse(text);
    if (!name) return;
    check(!name->view().empty() && name->view().size() <= 253, "host name length");
    for (char c : name->view()) check(!(c >= 'A' && c <= 'Z'), "host name not lower-case");
    const auto again = dns::HostName::parse(name->view());
    check(again && *again == *name, "host name does not parse to itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzInput in(ByteView(data, size));
    const std::uint8_t flags = in.u8();
    const std::uint16_t id = in.u16();
    ExactCopy msg(in.rest());
    const auto type = (flags & 1) ? dns::RecordType::kAaaa : dns::RecordType::kA;
    const dns::HostName& name = question_name(static_cast<std::uint8_t>(flags >> 1));

    const auto r = dns::parse_response(msg.view(), id, name, type);
    (void)dns::fault_name(r.fault);
    if (r.ok()) {
        check(r.response.address_count <= dns::kMaxAddresses, "too many addresses");
        for (std::size_t i = 0; i < r.response.address_count; ++i) {
            check(r.response.addresses[i].is_v6() == (type == dns::RecordType::kAaaa),
                  "address of the wrong family");
        }
    }
    const auto query = dns::build_query(id, name, type);
    ExactCopy q(query.view());
    check(!dns::parse_response(q.view(), id, name, type).ok(), "own query accepted as answer");
    check_host_name_text(msg.view());
    return 0;
}
