// Differential test of the trie against an obviously correct list (the kernel selftest's
// horrible_allowedips, wireguard-go's SlowRouter): random inserts, owner changes, removals and
// lookups, with a fixed seed that is printed on failure.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "core/wg/allowed_ips.hpp"
#include "tests/support/test_rng.hpp"

using namespace tunless;
using namespace tunless::wg;

namespace {

class NaiveAllowedIps {
public:
    void insert(const IpPrefix& p, PeerId peer) {
        for (auto& e : entries_) {
            if (e.first == p) {
                e.second = peer;
                return;
            }
        }
        entries_.emplace_back(p, peer);
    }
    bool remove(const IpPrefix& p) {
        const auto before = entries_.size();
        std::erase_if(entries_, [&](const auto& e) { return e.first == p; });
        return entries_.size() != before;
    }
    std::size_t remove_by_peer(PeerId peer) {
        const auto before = entries_.size();
        std::erase_if(entries_, [&](const auto& e) { return e.second == peer; });
        return before - entries_.size();
    }
    std::optional<PeerId> lookup(const IpAddress& a) const {
        std::optional<PeerId> best;
        int best_bits = -1;
        for (const auto& e : entries_) {
            if (e.first.contains(a) && int(e.first.bits()) > best_bits) {
                best = e.second;
                best_bits = e.first.bits();
            }
        }
        return best;
    }
    std::vector<IpPrefix> entries_for(PeerId peer) const {
        std::vector<IpPrefix> out;
        for (const auto& e : entries_) {
            if (e.second == peer) out.push_back(e.first);
        }
        std::sort(out.begin(), out.end());
        return out;
    }
    std::size_t size() const { return entries_.size(); }
    const std::vector<std::pair<IpPrefix, PeerId>>& entries() const { return entries_; }

private:
    std::vector<std::pair<IpPrefix, PeerId>> entries_;
};

// Random addresses cluster around a few bases so that prefixes overlap and nest.
class Gen {
public:
    explicit Gen(std::uint64_t seed) : rng_(seed) {
        for (auto& b : v4_bases_) rng_.fill(b);
        for (auto& b : v6_bases_) rng_.fill(b);
    }
    IpAddress address(bool v4) {
        std::array<std::uint8_t, 16> b{};
        const std::size_t len = v4 ? 4 : 16;
        if (rng_.uniform(4) != 0) {
            b = v4 ? v4_bases_[rng_.uniform(kBases)] : v6_bases_[rng_.uniform(kBases)];
            // Flip a random number of low-order bits.
            const unsigned flip = rng_.uniform(unsigned(len * 8) + 1);
            for (unsigned i = 0; i < flip; ++i) {
                if (rng_.uniform(2)) {
                    const unsigned bit = unsigned(len * 8) - 1 - i;
                    b[bit / 8] ^= std::uint8_t(0x80 >> (bit % 8));
                }
            }
        } else {
            rng_.fill(MutByteView(b.data(), len));
        }
        return v4 ? IpAddress::v4_bytes(b.data()) : IpAddress::v6_bytes(b.data());
    }
    IpPrefix prefix(bool v4) {
        const unsigned max = v4 ? 32 : 128;
        unsigned bits;
        switch (rng_.uniform(4)) {
            case 0: bits = rng_.uniform(max + 1); break;
            case 1: bits = max; break;
            case 2: bits = max - rng_.uniform(9); break;
            default: bits = std::min(max, 8 * (1 + rng_.uniform(max / 8))); break;
        }
        return IpPrefix(address(v4), static_cast<std::uint8_t>(bits));
    }
    std::uint32_t below(std::uint32_t n) { return rng_.uniform(n); }

private:
    static constexpr std::uint32_t kBases = 6;
    test::SeededRng rng_;
    std::array<std::array<std::uint8_t, 16>, kBases> v4_bases_{};
    std::array<std::array<std::uint8_t, 16>, kBases> v6_bases_{};
};

constexpr PeerId kPeers = 12;

// Returns false (after reporting) at the first disagreement.
bool lookups_agree(const AllowedIps& t, const NaiveAllowedIps& n, Gen& g, int count) {
    for (int i = 0; i < count; ++i) {
        const IpAddress a = g.address(g.below(2) == 0);
        if (t.lookup(a) != n.lookup(a)) {
            FAIL_CHECK("lookup(", a.to_string(), ") trie=", t.lookup(a).value_or(999),
                       " naive=", n.lookup(a).value_or(999));
            return false;
        }
    }
    return true;
}

void run(std::uint64_t seed, int ops) {
    INFO("seed = ", seed);
    Gen g(seed);
    AllowedIps t;
    NaiveAllowedIps n;
    for (int op = 0; op < ops; ++op) {
        INFO("op = ", op);
        const std::uint32_t kind = g.below(100);
        if (kind < 70) {
            const IpPrefix p = g.prefix(g.below(2) == 0);
            const PeerId peer = g.below(kPeers);
            t.insert(p, peer);
            n.insert(p, peer);
        } else if (kind < 90) {
            // Half the time remove a prefix that is present.
            IpPrefix p = g.prefix(g.below(2) == 0);
            if (n.size() > 0 && g.below(2) == 0) {
                p = n.entries()[g.below(std::uint32_t(n.size()))].first;
            }
            REQUIRE(t.remove(p) == n.remove(p));
        } else {
            const PeerId peer = g.below(kPeers);
            REQUIRE(t.remove_by_peer(peer) == n.remove_by_peer(peer));
        }
        REQUIRE(t.size() == n.size());
        if (!lookups_agree(t, n, g, 8)) {
            return;
        }
    }
    // Final state: probe around every remaining prefix's edges and compare owners' lists.
    for (const auto& [p, owner] : n.entries()) {
        INFO("prefix ", p.to_string());
        REQUIRE(t.lookup(p.address()) == n.lookup(p.address()));
    }
    REQUIRE(lookups_agree(t, n, g, 5000));
    for (PeerId peer = 0; peer < kPeers; ++peer) {
        auto got = t.entries_for(peer);
        std::sort(got.begin(), got.end());
        REQUIRE(got == n.entries_for(peer));
    }
}

}  // namespace

TEST_CASE("allowed IPs: randomized differential test against a naive list") {
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        run(seed * 0x9e3779b97f4a7c15ULL, 3000);
    }
}

TEST_CASE("allowed IPs: large table of host routes and subnets") {
    const std::uint64_t seed = 20240601;
    INFO("seed = ", seed);
    Gen g(seed);
    AllowedIps t;
    NaiveAllowedIps n;
    for (int i = 0; i < 4000; ++i) {
        const bool v4 = g.below(2) == 0;
        const IpPrefix p = g.prefix(v4);
        const PeerId peer = g.below(1000);
        t.insert(p, peer);
        n.insert(p, peer);
    }
    REQUIRE(t.size() == n.size());
    CHECK(lookups_agree(t, n, g, 3000));
    // Drain everything peer by peer: the trie must end up empty.
    for (PeerId peer = 0; peer < 1000; ++peer) {
        REQUIRE(t.remove_by_peer(peer) == n.remove_by_peer(peer));
    }
    CHECK(t.empty());
    CHECK(!t.lookup(*IpAddress::parse("10.0.0.1")));
}
