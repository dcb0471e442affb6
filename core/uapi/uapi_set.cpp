// parse_set: `set=1` lines -> typed operations, with wireguard-go's errno for every bad line
// (device/uapi.go: handleDeviceLine, handlePublicKeyLine, handlePeerLine).
#include <charconv>
#include <limits>

#include "core/uapi/uapi_protocol.hpp"

namespace tunless::uapi {
namespace {

// strconv.ParseUint(value, 10, bits): decimal digits only, no sign, no spaces, in range.
template <typename T>
std::optional<T> parse_uint(std::string_view v) {
    if (v.empty()) return std::nullopt;
    T out{};
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 10);
    if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
    return out;
}

Failure invalid(std::string message) { return Failure{kErrInvalid, std::move(message)}; }

// Keys are never echoed into messages (the value of private_key is a secret).
std::optional<std::array<std::uint8_t, crypto::kKeyLen>> hex_key(std::string_view v) {
    auto k = crypto::key_from_hex(v);
    if (!k) return std::nullopt;
    return *k;
}

// The `true`-only flags of wireguard-go (replace_peers, remove, update_only, ...).
std::optional<Failure> expect_true(std::string_view key, std::string_view value) {
    if (value == "true") return std::nullopt;
    return invalid("invalid value for " + std::string(key) + " (only \"true\" is allowed)");
}

std::variant<SetOp, Failure> device_line(std::string_view key, std::string_view value) {
    if (key == "private_key") {
        auto k = hex_key(value);
        if (!k) return invalid("failed to set private_key: not 64 hex digits");
        return op::PrivateKey{crypto::PrivateKey(ByteView(k->data(), k->size()))};
    }
    if (key == "listen_port") {
        auto p = parse_uint<std::uint16_t>(value);
        if (!p) return invalid("failed to parse listen_port");
        return op::ListenPort{*p};
    }
    if (key == "fwmark") {
        auto m = parse_uint<std::uint32_t>(value);
        if (!m) return invalid("invalid fwmark");
        return op::Fwmark{*m};
    }
    if (key == "replace_peers") {
        if (auto f = expect_true(key, value)) return *f;
        return op::ReplacePeers{};
    }
    return invalid("invalid UAPI device key: " + std::string(key));
}

std::variant<SetOp, Failure> peer_line(std::string_view key, std::string_view value) {
    if (key == "update_only" || key == "remove" || key == "replace_allowed_ips") {
        if (auto f = expect_true(key, value)) return *f;
        if (key == "update_only") return op::UpdateOnly{};
        if (key == "remove") return op::Remove{};
        return op::ReplaceAllowedIps{};
    }
    if (key == "preshared_key") {
        auto k = hex_key(value);
        if (!k) return invalid("failed to set preshared key: not 64 hex digits");
        return op::PresharedKey{crypto::SymmetricKey(ByteView(k->data(), k->size()))};
    }
    if (key == "endpoint") {
        auto ep = Endpoint::parse_numeric(value);
        if (!ep) return invalid("failed to set endpoint " + std::string(value));
        return op::SetEndpoint{*ep};
    }
    if (key == "persistent_keepalive_interval") {
        auto s = parse_uint<std::uint16_t>(value);
        if (!s) return invalid("failed to set persistent keepalive interval");
        return op::Keepalive{*s};
    }
    if (key == "allowed_ip") {
        // netip.ParsePrefix: the "/bits" part is mandatory.
        auto p = value.find('/') == std::string_view::npos ? std::nullopt : IpPrefix::parse(value);
        if (!p) return invalid("failed to set allowed ip " + std::string(value));
        return op::AllowedIp{*p};
    }
    if (key == "protocol_version") {
        if (value != "1") return invalid("invalid protocol version: " + std::string(value));
        return op::ProtocolVersion{};
    }
    return invalid("invalid UAPI peer key: " + std::string(key));
}

}  // namespace

SetParse parse_set(const std::vector<std::string>& lines) {
    SetParse out;
    bool device_section = true;
    for (const std::string& line : lines) {
        const std::size_t eq = line.find('=');
        if (eq == std::string::npos) {
            out.failure = Failure{kErrProtocol, "failed to parse line (no '=')"};
            return out;
        }
        const std::string_view key(line.data(), eq);
        const std::string_view value(line.data() + eq + 1, line.size() - eq - 1);
        if (key == "public_key") {
            device_section = false;
            auto k = hex_key(value);
            if (!k) {
                out.failure = invalid("failed to get peer by public key: not 64 hex digits");
                return out;
            }
            crypto::PublicKey pk;
            pk.bytes = *k;
            out.ops.emplace_back(op::Peer{pk});
            continue;
        }
        auto r = device_section ? device_line(key, value) : peer_line(key, value);
        if (auto* f = std::get_if<Failure>(&r)) {
            out.failure = std::move(*f);
            return out;
        }
        out.ops.push_back(std::move(std::get<SetOp>(r)));
    }
    return out;
}

}  // namespace tunless::uapi
