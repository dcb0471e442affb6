#include "core/wg/allowed_ips.hpp"

#include <algorithm>
#include <bit>

namespace tunless::wg {
namespace {

// An address as 128 bits, most significant first: bit i of the prefix is bit (63 - i) of `hi`
// for i < 64. IPv4 uses the top 32 bits of `hi`, so one code path serves both families.
struct Key {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    bool operator==(const Key&) const = default;
};

Key key_of(const IpAddress& a) {
    if (a.is_v4()) {
        return Key{std::uint64_t{a.v4_host_order()} << 32, 0};
    }
    return Key{load_be64(a.data()), load_be64(a.data() + 8)};
}

IpAddress address_of(const Key& k, bool v4) {
    if (v4) {
        return IpAddress::v4(static_cast<std::uint32_t>(k.hi >> 32));
    }
    std::uint8_t b[16];
    store_be64(b, k.hi);
    store_be64(b + 8, k.lo);
    return IpAddress::v6_bytes(b);
}

constexpr std::uint64_t top_bits(unsigned n) {  // n in [0, 64]
    return n == 0 ? 0 : ~std::uint64_t{0} << (64 - n);
}

Key mask(const Key& k, unsigned cidr) {
    if (cidr <= 64) {
        return Key{k.hi & top_bits(cidr), 0};
    }
    return Key{k.hi, k.lo & top_bits(cidr - 64)};
}

unsigned bit_at(const Key& k, unsigned i) {  // i in [0, 128)
    return i < 64 ? unsigned(k.hi >> (63 - i)) & 1U : unsigned(k.lo >> (127 - i)) & 1U;
}

unsigned common_prefix_len(const Key& a, const Key& b) {
    if (const std::uint64_t x = a.hi ^ b.hi; x != 0) {
        return unsigned(std::countl_zero(x));
    }
    if (const std::uint64_t x = a.lo ^ b.lo; x != 0) {
        return 64 + unsigned(std::countl_zero(x));
    }
    return 128;
}

unsigned max_bits(const IpAddress& a) { return a.is_v4() ? 32 : 128; }

}  // namespace

// Every node is a prefix (key masked to cidr). Its subtrees hold strictly longer prefixes that
// extend it, split by the bit right after it (bit `cidr`). Nodes without an owner exist only
// where two subtrees diverge, so the depth is bounded by the number of distinct prefixes on a
// path, not by 128 (the kernel's allowedips.c has the same shape).
struct AllowedIps::Node {
    Key key;
    std::uint8_t cidr = 0;
    bool has_peer = false;
    PeerId peer = 0;
    Node* parent = nullptr;
    std::unique_ptr<Node> child[2];

    bool contains(const Key& k) const { return mask(k, cidr) == key; }
    int child_count() const { return int(child[0] != nullptr) + int(child[1] != nullptr); }
};

namespace {

using Node = AllowedIps::Node;
using NodePtr = std::unique_ptr<Node>;

NodePtr make_node(const Key& key, unsigned cidr, Node* parent) {
    auto n = std::make_unique<Node>();
    n->key = mask(key, cidr);
    n->cidr = static_cast<std::uint8_t>(cidr);
    n->parent = parent;
    return n;
}

// Returns the node for exactly (key, cidr), creating it (and a branch node if two prefixes
// diverge) when missing. `key` is already masked.
Node* find_or_insert(NodePtr& root, const Key& key, unsigned cidr) {
    NodePtr* slot = &root;
    Node* parent = nullptr;
    while (*slot) {
        Node* n = slot->get();
        if (n->cidr <= cidr && n->contains(key)) {
            if (n->cidr == cidr) {
                return n;
            }
            parent = n;
            slot = &n->child[bit_at(key, n->cidr)];
            continue;
        }
        // `n` is not on our path: the new prefix is either its ancestor or they diverge at
        // bit c and need a new branch node there.
        const unsigned c = std::min({cidr, unsigned(n->cidr), common_prefix_len(key, n->key)});
        NodePtr old = std::move(*slot);
        NodePtr fresh = make_node(key, cidr, parent);
        Node* result = fresh.get();
        if (c == cidr) {
            old->parent = fresh.get();
            fresh->child[bit_at(old->key, cidr)] = std::move(old);
            *slot = std::move(fresh);
        } else {
            NodePtr branch = make_node(key, c, parent);
            old->parent = branch.get();
            fresh->parent = branch.get();
            branch->child[bit_at(old->key, c)] = std::move(old);
            branch->child[bit_at(key, c)] = std::move(fresh);
            *slot = std::move(branch);
        }
        return result;
    }
    *slot = make_node(key, cidr, parent);
    return slot->get();
}

Node* find_exact(const NodePtr& root, const Key& key, unsigned cidr) {
    Node* n = root.get();
    while (n != nullptr && n->cidr <= cidr && n->contains(key)) {
        if (n->cidr == cidr) {
            return n;
        }
        n = n->child[bit_at(key, n->cidr)].get();
    }
    return nullptr;
}

NodePtr& slot_of(NodePtr& root, Node* n) {
    if (n->parent == nullptr) {
        return root;
    }
    return n->parent->child[0].get() == n ? n->parent->child[0] : n->parent->child[1];
}

// After `n` lost its owner: drop nodes that no longer separate two subtrees.
void compact(NodePtr& root, Node* n) {
    while (n != nullptr && !n->has_peer) {
        const int children = n->child_count();
        if (children == 2) {
            return;
        }
        NodePtr& slot = slot_of(root, n);
        Node* parent = n->parent;
        if (children == 1) {
            NodePtr only = std::move(n->child[n->child[0] ? 0 : 1]);
            only->parent = parent;
            slot = std::move(only);  // frees n; parent's child count is unchanged
            return;
        }
        slot.reset();  // leaf: parent may now be a useless branch node
        n = parent;
    }
}

void collect(const Node* n, PeerId peer, bool v4, std::vector<IpPrefix>& out) {
    if (n == nullptr) {
        return;
    }
    // Pre-order with child 0 first gives address order.
    if (n->has_peer && n->peer == peer) {
        out.emplace_back(address_of(n->key, v4), n->cidr);
    }
    collect(n->child[0].get(), peer, v4, out);
    collect(n->child[1].get(), peer, v4, out);
}

}  // namespace

AllowedIps::AllowedIps() = default;
AllowedIps::~AllowedIps() = default;
// Moving leaves the source empty (not just with null roots and a stale size).
AllowedIps::AllowedIps(AllowedIps&& o) noexcept
    : v4_root_(std::move(o.v4_root_)), v6_root_(std::move(o.v6_root_)), size_(o.size_) {
    o.size_ = 0;
}

AllowedIps& AllowedIps::operator=(AllowedIps&& o) noexcept {
    if (this != &o) {
        v4_root_ = std::move(o.v4_root_);
        v6_root_ = std::move(o.v6_root_);
        size_ = o.size_;
        o.size_ = 0;
    }
    return *this;
}

void AllowedIps::insert(const IpPrefix& prefix, PeerId peer) {
    const IpAddress& addr = prefix.address();
    const unsigned cidr = std::min<unsigned>(prefix.bits(), max_bits(addr));
    NodePtr& root = addr.is_v4() ? v4_root_ : v6_root_;
    Node* n = find_or_insert(root, mask(key_of(addr), cidr), cidr);
    if (!n->has_peer) {
        ++size_;
    }
    n->has_peer = true;
    n->peer = peer;
}

bool AllowedIps::remove(const IpPrefix& prefix) {
    const IpAddress& addr = prefix.address();
    const unsigned cidr = std::min<unsigned>(prefix.bits(), max_bits(addr));
    NodePtr& root = addr.is_v4() ? v4_root_ : v6_root_;
    Node* n = find_exact(root, mask(key_of(addr), cidr), cidr);
    if (n == nullptr || !n->has_peer) {
        return false;
    }
    n->has_peer = false;
    --size_;
    compact(root, n);
    return true;
}

std::size_t AllowedIps::remove_by_peer(PeerId peer) {
    const std::vector<IpPrefix> owned = entries_for(peer);
    for (const IpPrefix& p : owned) {
        remove(p);
    }
    return owned.size();
}

void AllowedIps::clear() noexcept {
    v4_root_.reset();
    v6_root_.reset();
    size_ = 0;
}

std::optional<PeerId> AllowedIps::lookup(const IpAddress& addr) const noexcept {
    const Key key = key_of(addr);
    const unsigned limit = max_bits(addr);
    const Node* n = addr.is_v4() ? v4_root_.get() : v6_root_.get();
    std::optional<PeerId> best;
    // Every prefix containing `addr` lies on this one path; the last owner seen is the longest.
    while (n != nullptr && n->contains(key)) {
        if (n->has_peer) {
            best = n->peer;
        }
        if (n->cidr >= limit) {
            break;
        }
        n = n->child[bit_at(key, n->cidr)].get();
    }
    return best;
}

std::vector<IpPrefix> AllowedIps::entries_for(PeerId peer) const {
    std::vector<IpPrefix> out;
    collect(v4_root_.get(), peer, true, out);
    collect(v6_root_.get(), peer, false, out);
    return out;
}

}  // namespace tunless::wg
