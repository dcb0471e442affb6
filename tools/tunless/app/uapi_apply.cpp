#include "tools/tunless/app/uapi_apply.hpp"

#include <algorithm>
#include <optional>

#include "tools/log/log.hpp"
#include "tools/tunless/app/node.hpp"

namespace tunless::app {
namespace {

// The peer a set request is working on (wireguard-go's ipcSetPeer). Changes collect in `cfg`
// and reach the device in commit(): nothing observes the device in between (one thread).
struct PendingPeer {
    wg::PeerConfig cfg;
    std::optional<wg::PeerId> existing;
    bool dummy = false;         // our own key, removed, or update_only on a new peer
    bool keepalive_on = false;  // persistent keepalive went from 0 to non-zero
};

class SetApplier {
public:
    explicit SetApplier(Node& node) : node_(node) {}

    ApplyResult run(const std::vector<uapi::SetOp>& ops) {
        for (const uapi::SetOp& op : ops) {
            ApplyResult r = std::visit([this](const auto& o) { return apply(o); }, op);
            if (r.errno_value != 0) {
                (void)commit();  // wireguard-go's changes before the failure are live too
                return r;
            }
        }
        return commit();
    }

private:
    static ApplyResult ok() { return {}; }
    static ApplyResult error(int e, std::string m) { return ApplyResult{e, std::move(m)}; }

    ApplyResult apply(const uapi::op::PrivateKey& o) {
        if (o.key.is_zero()) {
            return error(uapi::kErrInvalid, "clearing the private key is not supported");
        }
        const crypto::PrivateKey* now = node_.device().private_key();
        if (now != nullptr && crypto::constant_time_equal(now->view(), o.key.view())) return ok();
        node_.device().set_private_key(o.key);
        log::info("uapi: private key set; public key {}",
                  crypto::key_to_base64(node_.device().public_key().view()));
        return ok();
    }
    ApplyResult apply(const uapi::op::ListenPort& o) {
        if (o.port != 0 && o.port == node_.udp().local_port()) return ok();
        if (Status st = node_.udp().rebind(o.port); !st) {
            return error(uapi::kErrPortInUse, "failed to set listen_port: " + st.error().message);
        }
        log::info("uapi: listening on UDP port {}", node_.udp().local_port());
        return ok();
    }
    ApplyResult apply(const uapi::op::Fwmark& o) {
        if (o.mark == 0) return ok();
        return error(uapi::kErrNotSupported, "fwmark is not supported (no SO_MARK in tunless)");
    }
    ApplyResult apply(const uapi::op::ReplacePeers&) {
        for (wg::PeerId id : node_.device().peer_ids()) (void)node_.device().remove_peer(id);
        log::info("uapi: removed all peers");
        return ok();
    }
    ApplyResult apply(const uapi::op::Peer& o) {
        if (ApplyResult r = commit(); r.errno_value != 0) return r;
        wg::Device& dev = node_.device();
        peer_ = PendingPeer{};
        peer_->cfg.public_key = o.key;
        if (dev.has_private_key() && o.key == dev.public_key()) {
            peer_->dummy = true;  // wg ignores a peer with our own public key
            return ok();
        }
        peer_->existing = dev.find_peer(o.key);
        if (peer_->existing) {
            auto st = dev.peer_status(*peer_->existing);
            if (st) {
                peer_->cfg.allowed_ips = st->allowed_ips;
                peer_->cfg.persistent_keepalive_s = st->persistent_keepalive_s;
            }
            peer_->cfg.preshared_key = dev.preshared_key(*peer_->existing);
        }
        return ok();
    }
    ApplyResult apply(const uapi::op::Remove&) {
        if (!peer_->dummy && peer_->existing) {
            (void)node_.device().remove_peer(*peer_->existing);
            log::info("uapi: peer {} removed", crypto::public_key_short(peer_->cfg.public_key));
        }
        peer_->dummy = true;
        return ok();
    }
    ApplyResult apply(const uapi::op::UpdateOnly&) {
        if (!peer_->existing) peer_->dummy = true;
        return ok();
    }
    ApplyResult apply(const uapi::op::PresharedKey& o) {
        peer_->cfg.preshared_key = o.key;
        return ok();
    }
    ApplyResult apply(const uapi::op::SetEndpoint& o) {
        peer_->cfg.endpoint = o.endpoint;
        return ok();
    }
    ApplyResult apply(const uapi::op::Keepalive& o) {
        const std::uint16_t old = peer_->cfg.persistent_keepalive_s;
        peer_->cfg.persistent_keepalive_s = o.seconds;
        peer_->keepalive_on = old == 0 && o.seconds != 0;
        return ok();
    }
    ApplyResult apply(const uapi::op::ReplaceAllowedIps&) {
        peer_->cfg.allowed_ips.clear();
        return ok();
    }
    ApplyResult apply(const uapi::op::AllowedIp& o) {
        auto& ips = peer_->cfg.allowed_ips;
        if (std::find(ips.begin(), ips.end(), o.prefix) == ips.end()) ips.push_back(o.prefix);
        return ok();
    }
    ApplyResult apply(const uapi::op::ProtocolVersion&) { return ok(); }

    // wireguard-go's handlePostConfig: the peer is (re)configured and, when its persistent
    // keepalive was just turned on, contacted at once.
    ApplyResult commit() {
        if (!peer_ || peer_->dummy) {
            peer_.reset();
            return ok();
        }
        PendingPeer p = std::move(*peer_);
        peer_.reset();
        wg::Device& dev = node_.device();
        wg::PeerId id;
        const std::string who = crypto::public_key_short(p.cfg.public_key);
        if (p.existing) {
            if (Status st = dev.update_peer(*p.existing, p.cfg); !st) {
                return error(uapi::kErrInvalid, "peer " + who + ": " + st.error().message);
            }
            id = *p.existing;
            log::info("uapi: peer {} updated", who);
        } else {
            auto added = dev.add_peer(p.cfg);
            if (!added) {
                return error(uapi::kErrInvalid,
                             "failed to create peer " + who + ": " + added.error().message);
            }
            id = *added;
            log::info("uapi: peer {} added", who);
        }
        auto st = dev.peer_status(id);
        if (p.keepalive_on && st && st->endpoint.is_set()) node_.data_path().initiate(id);
        return ok();
    }

    Node& node_;
    std::optional<PendingPeer> peer_;
};

}  // namespace

uapi::DeviceInfo device_info(Node& node) {
    uapi::DeviceInfo info;
    wg::Device& dev = node.device();
    if (const crypto::PrivateKey* k = dev.private_key()) info.private_key = *k;
    info.listen_port = node.udp().local_port();
    for (wg::PeerId id : dev.peer_ids()) {
        auto st = dev.peer_status(id);
        if (!st) continue;
        uapi::PeerInfo p;
        p.public_key = st->public_key;
        p.preshared_key = dev.preshared_key(id);
        p.endpoint = st->endpoint;
        p.last_handshake = st->last_handshake;
        p.tx_bytes = st->tx_bytes;
        p.rx_bytes = st->rx_bytes;
        p.persistent_keepalive_s = st->persistent_keepalive_s;
        p.allowed_ips = st->allowed_ips;
        info.peers.push_back(std::move(p));
    }
    return info;
}

ApplyResult apply_set(Node& node, const std::vector<uapi::SetOp>& ops) {
    return SetApplier(node).run(ops);
}

}  // namespace tunless::app
