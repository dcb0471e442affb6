#include "core/tailnet/filter_match.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace tunless::tailnet {
namespace {

using Family = IpAddress::Family;

std::uint32_t key4(const IpAddress& a) { return a.v4_host_order(); }

Addr128 key6(const IpAddress& a) { return {load_be64(a.data()), load_be64(a.data() + 8)}; }

// Both families in one key type (IPv4 in `lo`), for destination entries.
Addr128 key_any(const IpAddress& a) { return a.is_v4() ? Addr128{0, key4(a)} : key6(a); }

bool is_max(std::uint32_t k) { return k == std::numeric_limits<std::uint32_t>::max(); }
bool is_max(const Addr128& k) {
    return k.hi == std::numeric_limits<std::uint64_t>::max() &&
           k.lo == std::numeric_limits<std::uint64_t>::max();
}
std::uint32_t next(std::uint32_t k) { return k + 1; }
Addr128 next(Addr128 k) {
    if (++k.lo == 0) ++k.hi;
    return k;
}

template <typename Key>
void sort_and_merge(std::vector<AddrRange<Key>>& v) {
    std::sort(v.begin(), v.end(),
              [](const AddrRange<Key>& a, const AddrRange<Key>& b) { return a.first < b.first; });
    std::size_t out = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (out > 0) {
            AddrRange<Key>& prev = v[out - 1];
            // Overlapping or adjacent: extend the previous range.
            if (is_max(prev.last) || !(next(prev.last) < v[i].first)) {
                if (prev.last < v[i].last) prev.last = v[i].last;
                continue;
            }
        }
        v[out++] = v[i];
    }
    v.resize(out);
    v.shrink_to_fit();
}

template <typename Key>
bool ranges_contain(const std::vector<AddrRange<Key>>& v, const Key& k) {
    auto it = std::upper_bound(v.begin(), v.end(), k,
                               [](const Key& key, const AddrRange<Key>& r) { return key < r.first; });
    if (it == v.begin()) return false;
    return !(std::prev(it)->last < k);
}

// First and last address of a prefix (IpPrefix already masked the host bits off).
IpRange prefix_range(const IpPrefix& prefix) {
    const IpAddress& addr = prefix.address();
    const unsigned bits = prefix.bits();
    std::uint8_t last[16] = {};
    for (std::size_t i = 0; i < addr.size(); ++i) {
        const unsigned bit_start = static_cast<unsigned>(i) * 8;
        std::uint8_t host_mask = 0xFF;
        if (bit_start + 8 <= bits) {
            host_mask = 0;
        } else if (bit_start < bits) {
            host_mask = static_cast<std::uint8_t>(0xFF >> (bits - bit_start));
        }
        last[i] = static_cast<std::uint8_t>(addr.data()[i] | host_mask);
    }
    return IpRange{addr, addr.is_v4() ? IpAddress::v4_bytes(last) : IpAddress::v6_bytes(last)};
}

// Parses "a/b" like Go netip.ParsePrefix (decimal bits, no sign, no leading zeros) and refuses
// host bits (tailcfg.go: "contains non-network bits set").
Result<IpRange> parse_cidr(std::string_view text, std::size_t slash) {
    auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return fail(Errc::kInvalidArgument, "not an IP prefix");
    const std::string_view bits_text = text.substr(slash + 1);
    unsigned bits = 0;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    const unsigned max_bits = addr->is_v4() ? 32U : 128U;
    if (ec != std::errc{} || end != bits_text.data() + bits_text.size() || bits > max_bits ||
        (bits_text.size() > 1 && bits_text[0] == '0')) {
        return fail(Errc::kInvalidArgument, "not an IP prefix");
    }
    const IpPrefix prefix(*addr, static_cast<std::uint8_t>(bits));
    if (prefix.address() != *addr) {
        return fail(Errc::kInvalidArgument, "prefix has non-network bits set");
    }
    return prefix_range(prefix);
}

// Warning collector bounded to kMaxFilterWarnings (the texts come from the control server).
class Warnings {
public:
    explicit Warnings(std::vector<std::string>* out) : out_(out) {}
    ~Warnings() {
        if (out_ && dropped_ > 0) {
            out_->push_back(std::to_string(dropped_) + " more filter warnings not shown");
        }
    }
    Warnings(const Warnings&) = delete;
    Warnings& operator=(const Warnings&) = delete;

    void add(std::size_t rule, const char* what, std::string_view text, std::string_view why) {
        if (!out_) return;
        if (out_->size() >= kMaxFilterWarnings) {
            ++dropped_;
            return;
        }
        constexpr std::size_t kMaxQuoted = 64;
        std::string quoted(text.substr(0, kMaxQuoted));
        if (text.size() > kMaxQuoted) quoted += "...";
        out_->push_back("packet filter rule " + std::to_string(rule) + ": " + what + " \"" +
                        quoted + "\" skipped: " + std::string(why));
    }

private:
    std::vector<std::string>* out_;
    std::size_t dropped_ = 0;
};

constexpr std::string_view kCapPrefix = "cap:";

}  // namespace

Result<IpSetRanges> parse_ip_set(std::string_view text) {
    IpSetRanges out;
    if (text == "*") {
        const std::uint8_t ones[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        const std::uint8_t zeros[16] = {};
        out.ranges[0] = {IpAddress::v4_bytes(zeros), IpAddress::v4_bytes(ones)};
        out.ranges[1] = {IpAddress::v6_bytes(zeros), IpAddress::v6_bytes(ones)};
        out.count = 2;
        return out;
    }
    if (text.substr(0, kCapPrefix.size()) == kCapPrefix) {
        return fail(Errc::kUnsupported, "capability match");
    }
    if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
        auto r = parse_cidr(text, slash);
        if (!r) return r.error();
        out.ranges[0] = *r;
        out.count = 1;
        return out;
    }
    if (std::count(text.begin(), text.end(), '-') == 1) {
        const std::size_t dash = text.find('-');
        auto a = IpAddress::parse(text.substr(0, dash));
        auto b = IpAddress::parse(text.substr(dash + 1));
        if (!a || !b) return fail(Errc::kInvalidArgument, "not an IP range");
        // netipx.IPRange.IsValid: one family, first <= last.
        if (a->family() != b->family() || *b < *a) {
            return fail(Errc::kInvalidArgument, "invalid IP range");
        }
        out.ranges[0] = {*a, *b};
        out.count = 1;
        return out;
    }
    auto a = IpAddress::parse(text);
    if (!a) return fail(Errc::kInvalidArgument, "invalid IP address");
    out.ranges[0] = {*a, *a};
    out.count = 1;
    return out;
}

void AddressSet::add(const IpRange& r) {
    if (r.first.is_v4()) {
        v4_.push_back({key4(r.first), key4(r.last)});
    } else {
        v6_.push_back({key6(r.first), key6(r.last)});
    }
}

void AddressSet::add(const IpPrefix& prefix) { add(prefix_range(prefix)); }

void AddressSet::finish() {
    sort_and_merge(v4_);
    sort_and_merge(v6_);
}

bool AddressSet::contains(const IpAddress& ip) const {
    return ip.is_v4() ? ranges_contain(v4_, key4(ip)) : ranges_contain(v6_, key6(ip));
}

Result<CompiledFilterRules> CompiledFilterRules::compile(const std::vector<FilterRule>& rules,
                                             std::vector<std::string>* warnings) {
    if (rules.size() > kMaxFilterRules) {
        return fail(Errc::kLimitReached, "packet filter has more than " +
                                             std::to_string(kMaxFilterRules) + " rules");
    }
    Warnings warn(warnings);
    CompiledFilterRules set;
    std::size_t entries = 0;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const FilterRule& rule = rules[i];
        CompiledRule cr;
        if (rule.ip_proto.empty()) {
            // tailcfg.go defaultProtos.
            for (std::uint8_t p : {ipproto::kTcp, ipproto::kUdp, ipproto::kIcmp4, ipproto::kIcmp6}) {
                cr.protos[p >> 6] |= std::uint64_t{1} << (p & 63);
            }
        }
        for (int p : rule.ip_proto) {
            if (p < 0 || p > 0xFF) continue;  // reserved for future use; ignored like upstream
            cr.protos[static_cast<unsigned>(p) >> 6] |= std::uint64_t{1} << (p & 63);
        }
        for (const std::string& s : rule.src_ips) {
            auto r = parse_ip_set(s);
            if (!r) {
                const bool cap = r.error().code == Errc::kUnsupported;
                warn.add(i, "source", s,
                         cap ? "capability sources are not supported" : r.error().message);
                continue;
            }
            for (std::size_t k = 0; k < r->count; ++k) cr.srcs.add(r->ranges[k]);
            entries += r->count;
        }
        for (const NetPortRange& d : rule.dst_ports) {
            auto r = parse_ip_set(d.ip);
            if (!r) {
                const bool cap = r.error().code == Errc::kUnsupported;
                warn.add(i, "destination", d.ip,
                         cap ? "capability in DstPorts" : r.error().message);
                continue;
            }
            if (d.ports.first > d.ports.last) {
                warn.add(i, "destination", d.ip, "empty port range");
                continue;
            }
            for (std::size_t k = 0; k < r->count; ++k) {
                const IpRange& ir = r->ranges[k];
                cr.dsts.push_back({ir.first.family(), key_any(ir.first), key_any(ir.last), d.ports});
            }
            entries += r->count;
        }
        if (entries > kMaxFilterAddressEntries) {
            return fail(Errc::kLimitReached, "packet filter has more than " +
                                                 std::to_string(kMaxFilterAddressEntries) +
                                                 " address entries");
        }
        // A rule without sources or destinations (a CapGrant-only rule, or every text skipped)
        // can never match: tailscale's matchesFamily drops it too.
        if (cr.srcs.empty() || cr.dsts.empty()) continue;
        cr.srcs.finish();
        cr.dsts.shrink_to_fit();
        set.rules_.push_back(std::move(cr));
    }
    set.rules_.shrink_to_fit();
    return set;
}

namespace {

bool dst_in(const DstRange& d, Family family, const Addr128& key) {
    return d.family == family && !(key < d.first) && !(d.last < key);
}

}  // namespace

bool CompiledFilterRules::match(const IpPacketView& p) const {
    const Addr128 dst = key_any(p.dst);
    for (const CompiledRule& r : rules_) {
        if (!r.has_proto(p.proto) || !r.srcs.contains(p.src)) continue;
        for (const DstRange& d : r.dsts) {
            if (dst_in(d, p.dst.family(), dst) && p.dst_port >= d.ports.first &&
                p.dst_port <= d.ports.last) {
                return true;
            }
        }
    }
    return false;
}

bool CompiledFilterRules::match_ips_only(const IpPacketView& p) const {
    const Addr128 dst = key_any(p.dst);
    for (const CompiledRule& r : rules_) {
        if (!r.srcs.contains(p.src)) continue;
        for (const DstRange& d : r.dsts) {
            if (dst_in(d, p.dst.family(), dst)) return true;
        }
    }
    return false;
}

bool CompiledFilterRules::match_proto_all_ports(const IpPacketView& p) const {
    const Addr128 dst = key_any(p.dst);
    for (const CompiledRule& r : rules_) {
        if (!r.has_proto(p.proto) || !r.srcs.contains(p.src)) continue;
        for (const DstRange& d : r.dsts) {
            if (d.ports.first == 0 && d.ports.last == 0xFFFF && dst_in(d, p.dst.family(), dst)) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace tunless::tailnet
