// Seeds for dns_message_fuzz: responses to our own build_query() output (the question is
// copied from it), with A/AAAA answers, a CNAME chain through compression pointers, NXDOMAIN
// and a truncated answer. Format: [flags][id u16 LE][message].
#include <algorithm>
#include <string>

#include "fuzz/seeds/seed_writers.hpp"
#include "proxy/dns_message.hpp"

namespace tunless::fuzz::seeds {

namespace {

namespace dns = tunless::proxy::dns;

struct Response {
    Bytes b;
    // Header + the question of our query for `name`, flags QR|RD|RA + rcode, ancount answers.
    Response(std::uint16_t id, const char* name, dns::RecordType type, std::uint16_t ancount,
             std::uint16_t flags = 0x8180) {
        const auto q = dns::build_query(id, *dns::HostName::parse(name), type);
        b.assign(q.view().begin(), q.view().end());
        store_be16(b.data() + 2, flags);
        store_be16(b.data() + 6, ancount);
    }
    void u16(std::uint16_t v) { b.push_back(v >> 8); b.push_back(v & 0xff); }
    void u32(std::uint32_t v) { u16(v >> 16); u16(v & 0xffff); }
    // A record owned by the name at `owner_ptr` (a compression pointer offset).
    void record(std::uint16_t owner_ptr, dns::RecordType type, ByteView rdata, std::uint32_t ttl = 300) {
        u16(0xC000 | owner_ptr);
        u16(static_cast<std::uint16_t>(type));
        u16(dns::kClassIn);
        u32(ttl);
        u16(static_cast<std::uint16_t>(rdata.size()));
        b.insert(b.end(), rdata.begin(), rdata.end());
    }
};

Bytes seed(std::uint8_t flags, std::uint16_t id, const Bytes& msg) {
    Bytes s(3 + msg.size());
    s[0] = flags;
    store_le16(s.data() + 1, id);
    std::copy(msg.begin(), msg.end(), s.begin() + 3);
    return s;
}

}  // namespace

void write_dns_seeds(Writer& w) {
    const std::uint8_t v4a[] = {10, 0, 0, 7};
    const std::uint8_t v4b[] = {10, 0, 0, 8};
    const std::uint8_t v6[] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    {
        Response r(0x1234, "example.com", dns::RecordType::kA, 2);
        r.record(12, dns::RecordType::kA, v4a);
        r.record(12, dns::RecordType::kA, v4b, 60);
        w.put("a_two_answers", seed(0 << 1, 0x1234, r.b));
    }
    {
        Response r(0x0101, "peer.mesh", dns::RecordType::kAaaa, 1);
        r.record(12, dns::RecordType::kAaaa, v6);
        w.put("aaaa_one_answer", seed(1 | (1 << 1), 0x0101, r.b));
    }
    {
        // example.com CNAME alias.example.net; alias.example.net A 10.0.0.7 (owner = pointer
        // to the CNAME's rdata).
        Response r(0x2222, "example.com", dns::RecordType::kA, 2);
        const Bytes alias = {5, 'a', 'l', 'i', 'a', 's', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                             3, 'n', 'e', 't', 0};
        const std::size_t rdata_at = r.b.size() + 12;  // after owner, type, class, ttl, rdlen
        r.record(12, dns::RecordType::kCname, alias);
        r.record(static_cast<std::uint16_t>(rdata_at), dns::RecordType::kA, v4a, 30);
        w.put("cname_chain", seed(0, 0x2222, r.b));
    }
    {
        Response r(0x3333, "a", dns::RecordType::kA, 0, 0x8183);
        w.put("nxdomain", seed(2 << 1, 0x3333, r.b));
    }
    {
        Response r(0x4444, "example.com", dns::RecordType::kA, 1, 0x8380);
        r.record(12, dns::RecordType::kA, v4a);
        w.put("truncated_flag", seed(0, 0x4444, r.b));
    }
}

}  // namespace tunless::fuzz::seeds
