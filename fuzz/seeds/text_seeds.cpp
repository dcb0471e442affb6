// Seeds for proxy_protocol_fuzz (our encoder's output) and config_fuzz (valid configs with the
// options byte first; keys are the fuzz targets' fixed keys in base64).
#include <string>

#include "core/crypto/keys.hpp"
#include "fuzz/seeds/seed_writers.hpp"
#include "fuzz/wg_fuzz_support.hpp"
#include "proxy/proxy_protocol.hpp"

namespace tunless::fuzz::seeds {

void write_proxy_protocol_seeds(Writer& w) {
    namespace pp = tunless::proxy::proxy_protocol;
    pp::Addresses a;
    a.source = *IpAddress::parse("10.0.0.2");
    a.source_port = 40000;
    a.destination = *IpAddress::parse("10.0.0.1");
    a.destination_port = 80;
    w.put("tcp4", pp::encode_v2(a).view());
    a.transport = pp::Transport::kUdp;
    w.put("udp4", pp::encode_v2(a).view());
    a.source = *IpAddress::parse("fd00::2");
    a.destination = *IpAddress::parse("fd00::1");
    w.put("udp6", pp::encode_v2(a).view());
    a.transport = pp::Transport::kTcp;
    a.destination = *IpAddress::parse("10.0.0.1");  // mixed: sent as TCP6, v4-mapped
    w.put("tcp_mixed", pp::encode_v2(a).view());
    w.put("local", pp::encode_v2_local().view());
    // TCP4 with a TLV after the address block (len 12 + 7): the decoder must skip it.
    a.source = *IpAddress::parse("10.0.0.2");
    const auto enc = pp::encode_v2(a);
    Bytes tlv(enc.view().begin(), enc.view().end());
    const std::uint8_t extra[] = {0x04, 0x00, 0x04, 'n', 'o', 'o', 'p'};
    tlv.insert(tlv.end(), extra, extra + sizeof extra);
    store_be16(tlv.data() + 14, static_cast<std::uint16_t>(tlv.size() - pp::kFixedHeaderSize));
    w.put("tcp4_tlv", tlv);
}

void write_config_seeds(Writer& w) {
    init_crypto_once();
    const std::string priv = crypto::key_to_base64(fixed_private_key(kDeviceKeyTag).view());
    const std::string pub = crypto::key_to_base64(fixed_public_key(kPeerKeyTag).view());
    const std::string other = crypto::key_to_base64(fixed_public_key(kOtherKeyTag).view());
    w.put("wg_quick", std::string("\x00", 1) + "[Interface]\nAddress = 10.98.0.1/16\n"
          "Address = fd00:98::1/64\nListenPort = 51820\nMTU = 1380\n"
          "DNS = 10.99.0.53, fd00:99::53, mesh.example\nPrivateKey = " + priv +
          "\n; ini comment\n\n[Peer]\nPublicKey = " + pub + "\nPresharedKey = " + other +
          "\nAllowedIPs = 10.99.0.2/32, fd00:99::2/128\nAllowedIPs = 192.168.50.0/24\n"
          "Endpoint = peer.example.net:51821\nPersistentKeepalive = 25\n\n[peer]\n"
          "PUBLICKEY = " + other + "\nEndpoint = [2001:db8::7]:51820\n"
          "PersistentKeepalive = off\n");
    w.put("wireproxy_sections", std::string("\x00", 1) + "[Interface]\nAddress = 10.0.0.1/32\n"
          "PrivateKey = " + priv + "\n\n[Peer]\nPublicKey = " + pub +
          "\nAllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = 192.0.2.2:51820\n\n"
          "[Socks5]\nBindAddress = 127.0.0.1:1080\nUsername = alice\nPassword = s3cret!\n"
          "MaxConnections = 64\n\n[http]\nBindAddress = :8080\n\n"
          "[TCPClientTunnel]\nBindAddress = 127.0.0.1:2222\nTarget = 10.99.0.2:22\n\n"
          "[TCPServerTunnel]\nListenPort = 8000\nTarget = localhost:80\nMaxConnections = 10\n\n"
          "[UDPProxyTunnel]\nBindAddress = [::1]:5353\nTarget = 10.99.0.53:53\n"
          "InactivityTimeout = 30\n\n[UDPServerTunnel]\nListenPort = 5353\n"
          "Target = 127.0.0.1:53\nInactivityTimeout = 60\nMaxConnections = 100\n\n"
          "[Resolve]\nResolveStrategy = IPv4\n");
    w.put("env_lookup_no_key", std::string("\x03", 1) + "[Interface]\r\nAddress = 10.0.0.1\r\n"
          "\r\n[Peer]\r\nPublicKey = " + pub + "\r\nEndpoint = $PEER\r\nAllowedIPs = \r\n"
          "\r\n[TCPClientTunnel]\r\nBindAddress = $$literal\r\nTarget = $TARGET\r\n");
    w.put("errors", std::string("\x00", 1) + "[Interface]\nAddress = 10.0.0.300/33\n"
          "ListenPort = 70000\nMTU = x\nPrivateKey = short\nBogus\n[Nope]\nk = v\n"
          "[Peer]\nPublicKey = " + pub + "\nPublicKey = " + pub + "\n");
}

}  // namespace tunless::fuzz::seeds
