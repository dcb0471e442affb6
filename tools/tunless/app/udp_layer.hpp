// app::UdpLayer: the name resolver (proxy::DnsResolver: [Interface] DNS= over the mesh, else
// the system resolver) and the UDP services (forwards, SOCKS5 UDP ASSOCIATE), plugged into the
// TCP services (resolver for SOCKS5/HTTP/forward names, UDP ASSOCIATE handler), the loop
// (deadline providers) and the Node's counter hooks. Created by run_daemon after the
// proxy::Services; destroyed before them (it unplugs itself).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/result.hpp"
#include "proxy/dns_name_resolver.hpp"
#include "proxy/dns_resolver.hpp"
#include "proxy/local_name_resolver.hpp"
#include "proxy/services.hpp"
#include "proxy/udp_services.hpp"
#include "tools/tunless/app/node.hpp"

namespace tunless::app {

class UdpLayer {
public:
    // `node` and `tcp` must outlive the layer.
    // `local_names`: names the node answers itself (tailnet MagicDNS) before DNS is asked.
    static Result<std::unique_ptr<UdpLayer>> start(
        Node& node, proxy::Services& tcp, proxy::LocalNameResolver::Lookup local_names = {});
    ~UdpLayer();
    UdpLayer(const UdpLayer&) = delete;
    UdpLayer& operator=(const UdpLayer&) = delete;

    // SIGTERM: end the UDP associations.
    void shutdown() { udp_->shutdown(); }
    // The UDP forwards and SOCKS5 UDP relay (config reload).
    proxy::UdpServices& services() { return *udp_; }
    // UDP forward / relay lines and the resolver line, for SIGUSR1 / shutdown.
    std::vector<std::string> status_lines() const;

private:
    UdpLayer(Node& node, proxy::Services& tcp) : node_(node), tcp_(tcp) {}

    Node& node_;
    proxy::Services& tcp_;
    std::unique_ptr<proxy::DnsResolver> resolver_;       // mesh-side names (DNS= or system)
    std::unique_ptr<proxy::DnsResolver> host_resolver_;  // host-side targets: system resolver
    std::unique_ptr<proxy::DnsNameResolver> names_;
    std::unique_ptr<proxy::LocalNameResolver> local_names_;  // in front of names_ when set
    std::unique_ptr<proxy::UdpServices> udp_;
};

}  // namespace tunless::app
