// tailcfg_map_fuzz: the /machine/map long-poll body as a hostile control server (or anyone
// between us and it) could send it. Bytes go through MapMessageReader, every whole message
// through parse_map_response and NetMap::apply.
//
// Input: a map stream (uint32 LE length + JSON, repeated), cut into reads at input-derived
// points. An input starting with '{' is instead one bare JSON message, so JSON mutations need no
// valid framing. Oracles: framing in pieces yields the same messages as framing whole; every
// NetMapDelta is sorted, disjoint and consistent with the peer table; the peer bound holds; a
// rejected filter is empty; parsed times re-format to themselves.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tailnet/map_stream.hpp"
#include "core/tailnet/netmap.hpp"
#include "core/tailnet/tailcfg.hpp"
#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
using namespace tunless::tailnet;

constexpr std::size_t kMaxMessage = 256 * 1024;

MapLimits fuzz_limits() {
    MapLimits l;
    l.max_json_bytes = kMaxMessage;
    l.max_peers = 64;
    l.max_items = 64;
    l.max_filter_rules = 256;
    return l;
}

void check_sorted_unique(const std::vector<NodeId>& v, const char* what) {
    check(std::adjacent_find(v.begin(), v.end(), [](NodeId a, NodeId b) { return a >= b; }) ==
              v.end(),
          what);
}

void check_time(const std::optional<Timestamp>& t) {
    if (!t) return;
    const auto again = parse_rfc3339(format_rfc3339(*t));
    check(again && *again == *t, "RFC 3339 round trip");
}

void check_delta(const NetMap& nm, const NetMapDelta& d) {
    check_sorted_unique(d.added, "added sorted");
    check_sorted_unique(d.changed, "changed sorted");
    check_sorted_unique(d.removed, "removed sorted");
    for (NodeId id : d.added) {
        check(nm.peer(id) != nullptr, "added peer present");
        check(!std::binary_search(d.changed.begin(), d.changed.end(), id), "added and changed");
        check(!std::binary_search(d.removed.begin(), d.removed.end(), id), "added and removed");
    }
    for (NodeId id : d.changed) check(nm.peer(id) != nullptr, "changed peer present");
    for (NodeId id : d.removed) {
        check(nm.peer(id) == nullptr, "removed peer absent");
        check(!std::binary_search(d.changed.begin(), d.changed.end(), id), "changed and removed");
    }
}

void check_netmap(const NetMap& nm) {
    check(nm.peers().size() <= fuzz_limits().max_peers, "peer bound");
    if (nm.filter_rejected()) check(nm.filter() && nm.filter()->empty(), "rejected filter empty");
    for (const auto& [id, p] : nm.peers()) {
        check(p.id == id, "peer stored under its ID");
        if (!p.key.is_zero()) {
            const Node* by_key = nm.peer_by_node_key(p.key);
            check(by_key != nullptr && by_key->key == p.key, "lookup by node key");
        }
        check_time(p.key_expiry);
        check_time(p.last_seen);
        (void)nm.resolve_name(p.name);
    }
    if (nm.self()) (void)nm.resolve_name(nm.self()->name);
}

std::vector<std::string> frame_all(ByteView data, const std::vector<std::size_t>& cuts,
                                   bool& failed) {
    MapMessageReader reader(kMaxMessage);
    std::vector<std::string> out;
    failed = false;
    std::size_t from = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(data.size());
    for (std::size_t to : ends) {
        if (!reader.feed(data.subspan(from, to - from))) {
            failed = true;
            return out;
        }
        from = to;
        for (;;) {
            auto m = reader.next();
            if (!m) {
                failed = true;
                return out;
            }
            if (!*m) break;
            check(!(*m)->empty() && (*m)->size() <= kMaxMessage, "message size");
            out.emplace_back(**m);
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView in(data, size);
    std::vector<std::string> messages;
    if (size > 0 && data[0] == '{') {
        messages.emplace_back(reinterpret_cast<const char*>(data), size);
    } else {
        bool failed_split = false;
        bool failed_whole = false;
        messages = frame_all(in, split_points(in, 64), failed_split);
        const auto whole = frame_all(in, {}, failed_whole);
        check(failed_split == failed_whole, "framing verdict depends on the split");
        check(messages == whole, "framing result depends on the split");
    }

    NetMap nm(fuzz_limits().max_peers);
    NetMapDelta delta;
    for (const std::string& msg : messages) {
        auto resp = parse_map_response(msg, fuzz_limits());
        if (!resp) {
            check(!resp.error().message.empty(), "error without a message");
            continue;
        }
        const auto status = nm.apply(*resp, delta, Timestamp{1000, 0});
        if (!status) {
            check(status.error().code == Errc::kLimitReached, "apply fails only on the bound");
            continue;
        }
        check_delta(nm, delta);
        if (resp->keep_alive) check(delta.empty(), "keep-alive changed the map");
        check_netmap(nm);
        // Applying the same message again is idempotent for everything but PeerSeenChange.
        if (resp->peer_seen_change.empty()) {
            NetMapDelta again;
            check(static_cast<bool>(nm.apply(*resp, again, Timestamp{1000, 0})), "re-apply");
            check(again.added.empty() && again.removed.empty() && again.changed.empty(),
                  "re-applying a message changed peers");
        }
    }
    return 0;
}
