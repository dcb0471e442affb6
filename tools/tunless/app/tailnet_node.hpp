// app::TailnetNode: what makes a tunless Node a tailnet member ([Tailnet] in the config). It
// joins the control client (registration, map long-poll), the DERP relay and the packet filter
// to the Node's WireGuard device, lwIP stack and data path:
//  * netmap -> device: peers added, changed and removed as the map's deltas say, keyed by node
//    key, routed by AllowedIPs, reached through their home DERP region (Endpoint::relay);
//  * netmap -> stack: our 100.x / fd7a: addresses; -> filter: the tailnet packet filter;
//  * DERP -> device: datagrams from a peer's node key enter Device::on_datagram; the device's
//    datagrams for relay endpoints leave through the peer's home region (RelaySender);
//  * MagicDNS names of the netmap for the proxies (lookup_name).
// Owned by the Node, created after its device, stack and data path, destroyed before them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/result.hpp"
#include "core/config/config.hpp"
#include "core/tailnet/netmap.hpp"
#include "core/tailnet/packet_filter.hpp"
#include "core/uapi/uapi_protocol.hpp"
#include "tools/tunless/app/data_path.hpp"
#include "tools/tunless/app/tailnet_control.hpp"
#include "tools/tunless/app/tailnet_derp.hpp"
#include "tools/tunless/app/tailnet_keys.hpp"
#include "transports/clock.hpp"
#include "transports/host_resolver.hpp"

namespace tunless::app {

class Node;

class TailnetNode final : public ControlClientHandler,
                          public DerpRelayHandler,
                          public RelaySender,
                          public PacketGate {
public:
    // Loads (or creates) the keys in `state_dir`, reads the auth key, gives the device the
    // node key, plugs into the data path and starts connecting to control.
    static Result<std::unique_ptr<TailnetNode>> start(Node& node, const cfg::TailnetConfig& config,
                                                      const std::string& state_dir);
    ~TailnetNode() override;
    TailnetNode(const TailnetNode&) = delete;
    TailnetNode& operator=(const TailnetNode&) = delete;

    // MagicDNS for proxy targets: nullopt when `name` is not a tailnet name (ask DNS); an empty
    // vector for a name in the tailnet's domain that no node has (never ask DNS for it).
    std::optional<std::vector<IpAddress>> lookup_name(std::string_view name) const;
    // "tailnet.*" lines for `tunless status` (get=tunless).
    void append_status(uapi::KeyValues& out) const;
    // One-line summaries for SIGUSR1 / shutdown logs.
    std::vector<std::string> status_lines() const;

    // ControlClientHandler
    void on_control_state(ControlState state, const std::string& detail) override;
    void on_netmap(const tailnet::NetMap& map, const tailnet::NetMapDelta& delta) override;
    void on_node_key_changed() override;
    // DerpRelayHandler
    void on_relay_packet(std::uint16_t region, const crypto::PublicKey& src,
                         ByteView packet) override;
    void on_relay_state(std::uint16_t region, bool connected, const std::string& detail) override;
    // RelaySender
    void send_relay(wg::PeerId peer, const Endpoint& to, ByteView data) override;
    // PacketGate
    bool admit_inbound(Instant now, ByteView ip_packet, wg::PeerId from) override;
    void note_outbound(Instant now, ByteView ip_packet) override;

private:
    struct MeshPeer {
        tailnet::NodeId id = 0;
        crypto::PublicKey key;
        wg::PeerId peer = wg::kNoPeer;
        std::uint16_t home_region = 0;
    };
    struct Counters {
        std::uint64_t relay_rx = 0;
        std::uint64_t relay_rx_unknown = 0;  // from a node key not in the netmap
        std::uint64_t relay_rx_disco = 0;    // disco messages over DERP
        std::uint64_t disco_rejected = 0;    // unknown sender disco key, bad box, bad payload
        std::uint64_t disco_pongs = 0;       // Pongs sent for Pings over DERP
        std::uint64_t relay_tx = 0;
        std::uint64_t relay_tx_no_region = 0;
        std::uint64_t peer_errors = 0;       // device refused a netmap peer
    };

    TailnetNode(Node& node, TailnetKeys keys);
    void apply_self(const tailnet::Node& self);
    void apply_filter(const tailnet::NetMap& map);
    void apply_derp_map(const tailnet::NetMap& map);
    void on_relay_disco(std::uint16_t region, const crypto::PublicKey& src,
                        const tailnet::Node* peer, ByteView packet);
    void upsert_peer(const tailnet::Node& n);
    // Key expiry is the client's to enforce (tailscale ipn/ipnlocal/expiry.go): control sends
    // a KeyExpiry in the past, not Expired. Drops expired peers, reacts to our own expiry and
    // sets a timer for the next expiry to come.
    void check_expiry(const tailnet::NetMap& map);
    bool is_expired(const tailnet::Node& n) const;
    void remove_peer(tailnet::NodeId id);
    static std::optional<std::uint16_t> choose_home_region(const tailnet::DERPMap& map,
                                                           std::uint16_t current);

    Node& node_;
    TailnetKeys keys_;
    io::HostResolver resolver_;
    tailnet::PacketFilter filter_;
    std::unique_ptr<DerpRelay> derp_;
    std::unique_ptr<ControlClient> control_;
    mutable io::SystemWallClock wall_;  // now() is not const; reading it changes nothing
    io::TimerId expiry_timer_ = io::kNoTimer;
    std::optional<tailnet::Timestamp> self_expiry_handled_;  // our KeyExpiry already acted on
    std::map<tailnet::NodeId, MeshPeer> peers_;
    std::unordered_map<wg::PeerId, tailnet::NodeId> by_device_peer_;
    std::vector<IpAddress> addresses_;
    std::uint16_t home_region_ = 0;
    ControlState state_ = ControlState::kConnecting;
    std::string state_detail_;
    Counters counters_;
};

}  // namespace tunless::app
