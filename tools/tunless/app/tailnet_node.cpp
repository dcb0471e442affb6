#include "tools/tunless/app/tailnet_node.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/tailnet/disco.hpp"
#include "core/tailnet/keys.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/node.hpp"

namespace tunless::app {
namespace {

std::string default_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "tunless";
    std::string name(buf);
    return name.substr(0, name.find('.'));  // control wants a label, not an FQDN
}

const char* state_name(ControlState s) {
    switch (s) {
        case ControlState::kConnecting: return "connecting";
        case ControlState::kNeedsLogin: return "needs-login";
        case ControlState::kRunning: return "running";
        case ControlState::kBackoff: return "backoff";
    }
    return "?";
}

// Values of status lines may not contain newlines; names and texts come from control.
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\r', ' ');
    return s;
}

}  // namespace

TailnetNode::TailnetNode(Node& node, TailnetKeys keys)
    : node_(node),
      keys_(std::move(keys)),
      resolver_(node.loop(), io::HostResolverConfig{}),
      filter_(tailnet::PacketFilter::block_all()) {}

Result<std::unique_ptr<TailnetNode>> TailnetNode::start(Node& node,
                                                        const cfg::TailnetConfig& config,
                                                        const std::string& state_dir) {
    if (state_dir.empty()) {
        return fail(Errc::kInvalidArgument,
                    "[Tailnet] needs a writable state directory for its keys (--state-dir)");
    }
    auto keys = TailnetKeys::load_or_create(state_dir, node.rng());
    if (!keys) return keys.error();
    auto auth_key = read_auth_key(config.auth_key);
    if (!auth_key) return auth_key.error();

    std::unique_ptr<TailnetNode> t(new TailnetNode(node, std::move(*keys)));
    node.device().set_private_key(t->keys_.node_private());
    log::info("tailnet: node key {}", tailnet::node_key_text(t->keys_.node_public()).substr(0, 16));

    t->derp_ = std::make_unique<DerpRelay>(node.loop(), t->resolver_, node.rng(), config.ca_file,
                                           *t);
    t->derp_->set_node_key(t->keys_.node_private());

    ControlClientOptions options;
    options.config = config;
    options.auth_key = std::move(*auth_key);
    options.hostname = config.hostname.empty() ? default_hostname() : config.hostname;
    options.ipn_version = "tunless-" TUNLESS_VERSION;
    t->control_ = std::make_unique<ControlClient>(node.loop(), t->resolver_, node.rng(), t->keys_,
                                                  std::move(options), *t);
    node.data_path().set_relay(t.get());
    node.data_path().set_gate(t.get());
    t->control_->start();
    return t;
}

TailnetNode::~TailnetNode() {
    if (expiry_timer_ != io::kNoTimer) node_.loop().cancel_timer(expiry_timer_);
    node_.data_path().set_relay(nullptr);
    node_.data_path().set_gate(nullptr);
    control_.reset();
    derp_.reset();
    for (const auto& [id, p] : peers_) (void)node_.device().remove_peer(p.key);
}

// ---- control ------------------------------------------------------------------------------

void TailnetNode::on_control_state(ControlState state, const std::string& detail) {
    if (state == ControlState::kNeedsLogin && (state_ != state || state_detail_ != detail)) {
        // The operator has to open this URL (or approve the node on the server).
        log::warn("tailnet: login required: visit {}", detail);
    } else if (state != state_) {
        log::info("tailnet: {}{}{}", state_name(state), detail.empty() ? "" : ": ", detail);
    }
    state_ = state;
    state_detail_ = detail;
}

void TailnetNode::on_netmap(const tailnet::NetMap& map, const tailnet::NetMapDelta& delta) {
    if (delta.self_changed && map.self()) apply_self(*map.self());
    if (delta.derp_changed) apply_derp_map(map);
    for (tailnet::NodeId id : delta.removed) remove_peer(id);
    for (const auto* ids : {&delta.added, &delta.changed}) {
        for (tailnet::NodeId id : *ids) {
            if (const tailnet::Node* n = map.peer(id)) upsert_peer(*n);
        }
    }
    if (delta.filter_changed || delta.self_changed) apply_filter(map);
    check_expiry(map);
    if (!delta.added.empty() || !delta.removed.empty()) {
        log::info("tailnet: {} peer(s) ({} added, {} removed)", peers_.size(), delta.added.size(),
                  delta.removed.size());
    }
}

void TailnetNode::on_node_key_changed() {
    node_.device().set_private_key(keys_.node_private());
    derp_->set_node_key(keys_.node_private());
    log::info("tailnet: node key rotated, now {}",
              tailnet::node_key_text(keys_.node_public()).substr(0, 16));
}

void TailnetNode::apply_self(const tailnet::Node& self) {
    std::vector<IpAddress> addrs;
    std::size_t v4 = 0;
    std::size_t v6 = 0;
    for (const IpPrefix& p : self.addresses) {
        // The stack carries one IPv4 and a few IPv6 addresses; control gives one of each.
        auto& n = p.address().is_v4() ? v4 : v6;
        if (n < (p.address().is_v4() ? net::StackConfig::kMaxIpv4Addresses
                                     : net::StackConfig::kMaxIpv6Addresses)) {
            addrs.push_back(p.address());
            ++n;
        }
    }
    if (addrs == addresses_) return;
    if (auto st = node_.stack().set_addresses(addrs); !st) {
        log::error("tailnet: cannot use the addresses control assigned: {}", st.error().message);
        return;
    }
    addresses_ = addrs;
    filter_.set_local_addresses(self.addresses);
    std::string text;
    for (const auto& a : addrs) text += (text.empty() ? "" : ", ") + a.to_string();
    log::info("tailnet: this node is {} with address(es) {}", one_line(self.name), text);
}

void TailnetNode::apply_filter(const tailnet::NetMap& map) {
    if (!map.filter()) {
        filter_.set_block_all();
        return;
    }
    std::vector<std::string> warnings;
    auto rules = tailnet::CompiledFilterRules::compile(*map.filter(), &warnings);
    for (const auto& w : warnings) log::warn("tailnet: packet filter: {}", w);
    if (!rules) {
        log::error("tailnet: packet filter refused ({}): blocking inbound connections",
                   rules.error().message);
        filter_.set_block_all();
        return;
    }
    filter_.set_rules(std::move(*rules));
    log::info("tailnet: packet filter with {} rule(s)", map.filter()->size());
}

void TailnetNode::apply_derp_map(const tailnet::NetMap& map) {
    if (!map.derp_map()) return;
    derp_->set_derp_map(*map.derp_map());
    auto home = choose_home_region(*map.derp_map(), home_region_);
    if (!home) {
        log::warn("tailnet: the DERP map has no usable region: peers cannot reach this node");
        return;
    }
    if (*home != home_region_) {
        home_region_ = *home;
        derp_->set_home_region(home_region_);
        control_->set_preferred_derp(home_region_);
        log::info("tailnet: home DERP region {}", home_region_);
    }
}

// Go picks the region with the lowest measured latency (net/netcheck) and sticks to it unless
// another is clearly faster. Until we measure, keep the current home while it exists and
// otherwise take the lowest region ID that may be a home (not Avoid / NoMeasureNoHome, has a
// DERP node): deterministic, and with headscale's single embedded region it is that region.
std::optional<std::uint16_t> TailnetNode::choose_home_region(const tailnet::DERPMap& map,
                                                             std::uint16_t current) {
    std::optional<std::uint16_t> best;
    for (const auto& [id, region] : map.regions) {
        if (id <= 0 || id > 0xffff || region.avoid || region.no_measure_no_home) continue;
        const bool has_derp = std::any_of(region.nodes.begin(), region.nodes.end(),
                                          [](const tailnet::DERPNode& n) { return !n.stun_only; });
        if (!has_derp) continue;
        if (id == current) return current;
        if (!best) best = static_cast<std::uint16_t>(id);
    }
    return best;
}

// ---- peers ----------------------------------------------------------------------------------

void TailnetNode::upsert_peer(const tailnet::Node& n) {
    auto it = peers_.find(n.id);
    if (it != peers_.end() && it->second.key != n.key) {
        remove_peer(n.id);  // a new node key is a new WireGuard peer
        it = peers_.end();
    }
    if (n.key.is_zero() || is_expired(n) || n.key == keys_.node_public()) {
        if (it != peers_.end()) {
            log::info("tailnet: peer {}: {}, removed", one_line(n.name),
                      is_expired(n) ? "node key expired" : "no usable key");
            remove_peer(n.id);
        }
        return;
    }
    wg::PeerConfig pc;
    pc.public_key = n.key;
    pc.allowed_ips = n.allowed_ips;
    const auto region = static_cast<std::uint16_t>(std::clamp(n.home_derp, 0, 0xffff));
    if (region != 0) pc.endpoint = Endpoint::relay(region);
    if (it == peers_.end()) {
        auto id = node_.device().add_peer(pc);
        if (!id) {
            ++counters_.peer_errors;
            log::warn("tailnet: peer {} not added: {}", one_line(n.name), id.error().message);
            return;
        }
        peers_[n.id] = MeshPeer{n.id, n.key, *id, region};
        by_device_peer_[*id] = n.id;
        return;
    }
    if (auto st = node_.device().update_peer(it->second.peer, pc); !st) {
        ++counters_.peer_errors;
        log::warn("tailnet: peer {} not updated: {}", one_line(n.name), st.error().message);
        return;
    }
    it->second.home_region = region;
}

bool TailnetNode::is_expired(const tailnet::Node& n) const {
    if (n.expired) return true;
    // The wall clock may be wrong on a module without RTC; a clock in the past only delays
    // expiry (Go corrects it with ControlTime, a later refinement here).
    return n.key_expiry && n.key_expiry->unix_seconds <= wall_.now().seconds;
}

void TailnetNode::check_expiry(const tailnet::NetMap& map) {
    const std::int64_t now = wall_.now().seconds;
    std::optional<std::int64_t> next;
    auto consider = [&next, now](const std::optional<tailnet::Timestamp>& t) {
        if (t && t->unix_seconds > now && (!next || t->unix_seconds < *next)) {
            next = t->unix_seconds;
        }
    };
    for (const auto& [id, n] : map.peers()) {
        const bool listed = peers_.count(id) != 0;
        if (listed && is_expired(n)) {
            log::info("tailnet: peer {}: node key expired, removed", one_line(n.name));
            remove_peer(id);
        } else if (!listed && !is_expired(n)) {
            upsert_peer(n);  // back after a new key or a clock correction
        }
        consider(n.key_expiry);
    }
    if (const auto& self = map.self(); self && self->key_expiry) {
        if (self->key_expiry->unix_seconds <= now && self_expiry_handled_ != self->key_expiry) {
            self_expiry_handled_ = self->key_expiry;
            control_->node_key_expired();
        }
        consider(self->key_expiry);
    }
    if (expiry_timer_ != io::kNoTimer) node_.loop().cancel_timer(expiry_timer_);
    expiry_timer_ = io::kNoTimer;
    if (next) {
        expiry_timer_ = node_.loop().add_timer(std::chrono::seconds(*next - now + 1), [this] {
            expiry_timer_ = io::kNoTimer;
            check_expiry(control_->netmap());
        });
    }
}

void TailnetNode::remove_peer(tailnet::NodeId id) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    (void)node_.device().remove_peer(it->second.peer);
    by_device_peer_.erase(it->second.peer);
    peers_.erase(it);
}

// ---- DERP -------------------------------------------------------------------------------------

void TailnetNode::on_relay_packet(std::uint16_t region, const crypto::PublicKey& src,
                                  ByteView packet) {
    const tailnet::Node* peer = control_->netmap().peer_by_node_key(src);
    if (tailnet::looks_like_disco(packet)) {
        on_relay_disco(region, src, peer, packet);
        return;
    }
    // WireGuard authenticates the bytes; the key only tells us this is a netmap peer at all.
    if (peer == nullptr) {
        ++counters_.relay_rx_unknown;
        return;
    }
    ++counters_.relay_rx;
    node_.data_path().on_datagram(Endpoint::relay(region), packet);
    node_.data_path().on_receive_batch_end();
}

// Disco over DERP: we have no direct paths yet, but answering Pings makes `tailscale ping`
// (disco by default) work, as magicsock's handlePingLocked does for a ping via DERP. Only the
// disco key the netmap binds to the sending node key may open a box; nothing disco ever
// reaches the WireGuard device.
void TailnetNode::on_relay_disco(std::uint16_t region, const crypto::PublicKey& src,
                                 const tailnet::Node* peer, ByteView packet) {
    ++counters_.relay_rx_disco;
    auto known = [peer](const crypto::PublicKey& k) {
        return peer != nullptr && peer->disco_key && *peer->disco_key == k;
    };
    auto opened = tailnet::open_disco(packet, keys_.disco_private(), known);
    if (!opened) {
        ++counters_.disco_rejected;
        return;
    }
    auto pong = tailnet::answer_ping_via_derp(*opened, region, keys_.disco_private(),
                                              keys_.disco_public(), node_.rng());
    if (pong) {
        ++counters_.disco_pongs;
        derp_->send(region, src, *pong);
    }
}

void TailnetNode::on_relay_state(std::uint16_t region, bool connected, const std::string& detail) {
    if (connected) {
        log::info("tailnet: DERP region {} connected", region);
    } else {
        log::warn("tailnet: DERP region {} down{}{}", region, detail.empty() ? "" : ": ", detail);
    }
}

// Peers listen on their own home region, whatever region their last packet came through.
void TailnetNode::send_relay(wg::PeerId peer, const Endpoint& to, ByteView data) {
    auto it = by_device_peer_.find(peer);
    if (it == by_device_peer_.end()) {
        ++counters_.relay_tx_no_region;
        return;
    }
    const MeshPeer& p = peers_.at(it->second);
    const std::uint16_t region = p.home_region != 0 ? p.home_region : to.relay_region;
    if (region == 0) {
        ++counters_.relay_tx_no_region;
        return;
    }
    ++counters_.relay_tx;
    derp_->send(region, p.key, data);
}

// ---- filter -----------------------------------------------------------------------------------

bool TailnetNode::admit_inbound(Instant now, ByteView ip_packet, wg::PeerId /*from*/) {
    return filter_.check_inbound(now, ip_packet).accept;
}

void TailnetNode::note_outbound(Instant now, ByteView ip_packet) {
    filter_.note_outbound(now, ip_packet);
}

// ---- names and status -------------------------------------------------------------------------

std::optional<std::vector<IpAddress>> TailnetNode::lookup_name(std::string_view name) const {
    const tailnet::NetMap& map = control_->netmap();
    auto found = map.resolve_name(name);
    if (!found.empty()) return found;
    std::string_view n = name;
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    const std::string& domain = map.domain();
    const bool in_domain = !domain.empty() && n.size() > domain.size() &&
                           n[n.size() - domain.size() - 1] == '.' &&
                           std::equal(domain.begin(), domain.end(), n.end() - domain.size(),
                                      [](char a, char b) {
                                          return std::tolower(static_cast<unsigned char>(a)) ==
                                                 std::tolower(static_cast<unsigned char>(b));
                                      });
    if (in_domain) return std::vector<IpAddress>{};
    return std::nullopt;
}

void TailnetNode::append_status(uapi::KeyValues& out) const {
    const tailnet::NetMap& map = control_->netmap();
    out.emplace_back("tailnet.state", state_name(state_));
    if (!state_detail_.empty()) out.emplace_back("tailnet.detail", one_line(state_detail_));
    out.emplace_back("tailnet.control_url", control_->status().control_url);
    if (map.self()) out.emplace_back("tailnet.node_name", one_line(map.self()->name));
    out.emplace_back("tailnet.node_key", tailnet::node_key_text(keys_.node_public()));
    std::string own;  // one line: JSON objects cannot repeat a key
    for (const auto& a : addresses_) own += (own.empty() ? "" : ",") + a.to_string();
    out.emplace_back("tailnet.addresses", own);
    out.emplace_back("tailnet.home_derp", std::to_string(home_region_));
    for (const auto& [id, p] : peers_) {
        const tailnet::Node* n = map.peer(id);
        if (n == nullptr) continue;
        const std::string prefix = "tailnet.peer." + std::to_string(id) + ".";
        out.emplace_back(prefix + "name", one_line(n->name));
        out.emplace_back(prefix + "node_key", tailnet::node_key_text(n->key));
        std::string addrs;
        for (const auto& a : n->addresses) addrs += (addrs.empty() ? "" : ",") + a.to_string();
        out.emplace_back(prefix + "addresses", addrs);
        out.emplace_back(prefix + "online", n->online.value_or(false) ? "true" : "false");
        out.emplace_back(prefix + "path", p.home_region != 0
                                              ? "derp:" + std::to_string(p.home_region)
                                              : std::string("none"));
    }
    for (const auto& r : derp_->status()) {
        const std::string prefix = "tailnet.derp." + std::to_string(r.region) + ".";
        out.emplace_back(prefix + "connected", r.connected ? "true" : "false");
        out.emplace_back(prefix + "packets_in", std::to_string(r.packets_in));
        out.emplace_back(prefix + "packets_out", std::to_string(r.packets_out));
        out.emplace_back(prefix + "drops", std::to_string(r.drops));
    }
    const auto& fs = filter_.stats();
    std::uint64_t dropped = 0;
    for (auto d : fs.dropped) dropped += d;
    out.emplace_back("tailnet.filter.dropped", std::to_string(dropped));
    out.emplace_back("tailnet.relay.rx", std::to_string(counters_.relay_rx));
    out.emplace_back("tailnet.relay.tx", std::to_string(counters_.relay_tx));
    out.emplace_back("tailnet.relay.rx_unknown_peer", std::to_string(counters_.relay_rx_unknown));
    out.emplace_back("tailnet.relay.rx_disco", std::to_string(counters_.relay_rx_disco));
    out.emplace_back("tailnet.disco.rejected", std::to_string(counters_.disco_rejected));
    out.emplace_back("tailnet.disco.pongs", std::to_string(counters_.disco_pongs));
    out.emplace_back("tailnet.relay.tx_no_region", std::to_string(counters_.relay_tx_no_region));
}

std::vector<std::string> TailnetNode::status_lines() const {
    std::vector<std::string> lines;
    lines.push_back(fmt::format("tailnet: {} ({} peers, home DERP {}, relay rx {} tx {})",
                                state_name(state_), peers_.size(), home_region_,
                                counters_.relay_rx, counters_.relay_tx));
    for (const auto& r : derp_->status()) {
        lines.push_back(fmt::format("tailnet: DERP {} {}: in {} out {} drops {}", r.region,
                                    r.connected ? "up" : "down", r.packets_in, r.packets_out,
                                    r.drops));
    }
    return lines;
}

}  // namespace tunless::app
