#include "tools/tunless/node_defaults.hpp"

#include <fmt/format.h>

#include "core/crypto/x25519.hpp"

namespace tunless::cli {

cfg::InterfaceAddress default_ipv4_address(const crypto::PublicKey& key) {
    const std::uint8_t a = key.bytes[0];
    const std::uint8_t b = static_cast<std::uint8_t>(1 + key.bytes[1] % 254);  // 1..254
    const std::uint8_t addr[4] = {10, 99, a, b};
    return {IpAddress::v4_bytes(addr), 16};
}

cfg::InterfaceAddress default_ipv6_address(const crypto::PublicKey& key) {
    std::uint8_t addr[16] = {0xfd};
    for (int i = 0; i < 7; ++i) {
        addr[1 + i] = key.bytes[static_cast<std::size_t>(2 + i)];  // 40-bit global ID + subnet
    }
    addr[15] = 1;
    return {IpAddress::v6_bytes(addr), 64};
}

cfg::Config default_node_config(const crypto::PrivateKey& key, std::uint16_t listen_port) {
    const crypto::PublicKey pub = crypto::public_key_from_private(key);
    cfg::Config c;
    c.iface.private_key = key;
    c.iface.addresses = {default_ipv4_address(pub), default_ipv6_address(pub)};
    c.iface.listen_port = listen_port;
    cfg::ProxyListener socks;
    socks.bind = *Endpoint::parse_numeric(kDefaultSocksBind);
    c.socks5.push_back(socks);
    return c;
}

std::string default_config_text(const cfg::Config& config) {
    return "# tunless node configuration, generated on first start. Syntax: wg-quick's\n"
           "# [Interface] and [Peer] plus wireproxy's [Socks5], [http], [TCPClientTunnel],\n"
           "# [TCPServerTunnel], [UDPProxyTunnel] and tunless's [UDPServerTunnel].\n"
           "# Add the other nodes as [Peer] sections. Keep this file private (mode 0600).\n\n" +
           cfg::serialize(config);
}

std::string peer_snippet(const crypto::PublicKey& key, const cfg::InterfaceConfig& iface) {
    std::string allowed;
    for (const cfg::InterfaceAddress& a : iface.addresses) {
        const unsigned host_bits = a.address.is_v4() ? 32 : 128;
        allowed +=
            fmt::format("{}{}/{}", allowed.empty() ? "" : ", ", a.address.to_string(), host_bits);
    }
    const std::string port =
        iface.listen_port != 0 ? std::to_string(iface.listen_port) : std::string("<port>");
    return fmt::format(
        "[Peer]\n"
        "PublicKey = {}\n"
        "AllowedIPs = {}\n"
        "Endpoint = <this host's IP or name>:{}\n"
        "PersistentKeepalive = 25\n",
        crypto::key_to_base64(key.view()), allowed, port);
}

}  // namespace tunless::cli
