#include "tools/tunless/app/peer_setup.hpp"

#include "tools/log/log.hpp"
#include "transports/resolver.hpp"

namespace tunless::app {

wg::PeerConfig make_peer_config(const cfg::PeerEntry& entry, const std::string& file) {
    wg::PeerConfig pc;
    pc.public_key = entry.public_key;
    if (entry.preshared_key) pc.preshared_key = *entry.preshared_key;
    pc.allowed_ips = entry.allowed_ips;
    pc.persistent_keepalive_s = entry.persistent_keepalive;
    if (entry.endpoint) {
        const auto& ep = *entry.endpoint;
        if (ep.ip) {
            pc.endpoint = Endpoint::udp(*ep.ip, ep.port);
        } else if (auto r = io::resolve_endpoint(ep.host, ep.port); r) {
            pc.endpoint = *r;
            log::info("peer {}: {} resolved to {}", crypto::public_key_short(entry.public_key),
                      ep.host, r->to_string());
        } else {
            log::warn("{}:{}: peer endpoint {} does not resolve ({}); waiting for the peer to "
                      "contact us",
                      file, entry.line, ep.to_string(), r.error().message);
        }
    }
    return pc;
}

Result<std::vector<wg::PeerId>> add_configured_peers(const cfg::Config& config,
                                                     wg::Device& device) {
    std::vector<wg::PeerId> contact_now;
    for (const auto& entry : config.peers) {
        wg::PeerConfig pc = make_peer_config(entry, config.file);
        auto id = device.add_peer(pc);
        if (!id) {
            return fail(id.error().code, config.file + ":" + std::to_string(entry.line) +
                                             ": peer rejected: " + id.error().message);
        }
        std::string allowed;
        for (const auto& p : pc.allowed_ips) allowed += (allowed.empty() ? "" : ", ") + p.to_string();
        log::info("peer {}: endpoint {}, allowed ips {}", crypto::public_key_short(pc.public_key),
                  pc.endpoint.to_string(), allowed.empty() ? "(none)" : allowed);
        if (pc.persistent_keepalive_s != 0 && pc.endpoint.is_set()) contact_now.push_back(*id);
    }
    return contact_now;
}

}  // namespace tunless::app
