// UAPI framing, `get` serialisation and the client-side reply parsers (see uapi_protocol.hpp).
#include "core/uapi/uapi_protocol.hpp"

#include <charconv>

namespace tunless::uapi {
namespace {

// Position of the '\n' ending the line that starts at `from`, checking the line limit.
// npos: no newline yet. `too_long` is set when the line (complete or not) exceeds the cap.
std::size_t line_end(std::string_view buf, std::size_t from, bool& too_long) {
    const std::size_t nl = buf.find('\n', from);
    const std::size_t len = (nl == std::string_view::npos ? buf.size() : nl) - from;
    too_long = len > kMaxLineBytes;
    return nl;
}

Framed reject(std::string message) {
    Framed f;
    f.kind = Framed::Kind::kReject;
    f.failure = Failure{kErrInvalid, std::move(message)};
    return f;
}

Framed take_get(std::string_view buf, std::size_t body, Operation op, bool eof) {
    Framed f;
    if (buf.size() <= body) {
        f.kind = eof ? Framed::Kind::kClose : Framed::Kind::kIncomplete;
        return f;
    }
    if (buf[body] != '\n') return reject("trailing character in UAPI get");
    f.kind = Framed::Kind::kRequest;
    f.request.op = op;
    f.consumed = body + 1;
    return f;
}

Framed take_set(std::string_view buf, std::size_t body, bool eof) {
    Framed f;
    f.request.op = Operation::kSet;
    std::size_t pos = body;
    while (pos < buf.size()) {
        bool too_long = false;
        const std::size_t nl = line_end(buf, pos, too_long);
        if (too_long) return reject("UAPI line too long");
        if (nl == std::string_view::npos) break;
        if (nl == pos) {  // the blank line ends the request
            f.kind = Framed::Kind::kRequest;
            f.consumed = nl + 1;
            return f;
        }
        f.request.lines.emplace_back(buf.substr(pos, nl - pos));
        pos = nl + 1;
    }
    if (buf.size() > kMaxRequestBytes) return reject("UAPI request too large");
    if (!eof) return Framed{};
    if (pos < buf.size()) f.request.lines.emplace_back(buf.substr(pos));
    f.kind = Framed::Kind::kRequest;
    f.consumed = buf.size();
    return f;
}

void key_line(std::string& out, std::string_view name, ByteView key) {
    out += name;
    out += '=';
    out += crypto::key_to_hex(key);
    out += '\n';
}

template <typename T>
void num_line(std::string& out, std::string_view name, T value) {
    out += name;
    out += '=';
    out += std::to_string(value);
    out += '\n';
}

template <typename T>
bool parse_num(std::string_view v, T& out) {
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 10);
    return ec == std::errc() && end == v.data() + v.size() && !v.empty();
}

// Splits a complete reply into key=value pairs and checks its errno trailer.
Result<KeyValues> split_reply(std::string_view reply) {
    KeyValues kv;
    std::size_t pos = 0;
    while (pos < reply.size()) {
        const std::size_t nl = reply.find('\n', pos);
        if (nl == std::string_view::npos) return fail(Errc::kProtocol, "reply without newline");
        const std::string_view line = reply.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) break;
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) return fail(Errc::kProtocol, "reply line without '='");
        kv.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
    if (kv.empty() || kv.back().first != "errno") {
        return fail(Errc::kProtocol, "reply without errno");
    }
    if (kv.back().second != "0") return fail(Errc::kIo, "errno=" + kv.back().second);
    kv.pop_back();
    return kv;
}

std::optional<std::array<std::uint8_t, crypto::kKeyLen>> hex(std::string_view v) {
    auto k = crypto::key_from_hex(v);
    if (!k) return std::nullopt;
    return *k;
}

// One get-reply line applied to the DeviceInfo being built. False: malformed.
bool apply_get_line(DeviceInfo& info, const std::string& key, const std::string& value) {
    if (key == "public_key") {
        auto k = hex(value);
        if (!k) return false;
        info.peers.emplace_back().public_key.bytes = *k;
        return true;
    }
    if (info.peers.empty()) {
        if (key == "private_key") {
            auto k = hex(value);
            if (!k) return false;
            info.private_key = crypto::PrivateKey(ByteView(k->data(), k->size()));
            return true;
        }
        if (key == "listen_port") return parse_num(value, info.listen_port);
        if (key == "fwmark") return parse_num(value, info.fwmark);
        return true;  // unknown device keys: ignored, like wg
    }
    PeerInfo& p = info.peers.back();
    if (key == "preshared_key") {
        auto k = hex(value);
        if (!k) return false;
        crypto::SymmetricKey psk(ByteView(k->data(), k->size()));
        if (!psk.is_zero()) p.preshared_key = psk;
        return true;
    }
    if (key == "endpoint") {
        auto ep = Endpoint::parse_numeric(value);
        if (!ep) return false;
        p.endpoint = *ep;
        return true;
    }
    if (key == "last_handshake_time_sec" || key == "last_handshake_time_nsec") {
        WallTime t = p.last_handshake.value_or(WallTime{});
        const bool ok = key == "last_handshake_time_sec" ? parse_num(value, t.seconds)
                                                         : parse_num(value, t.nanoseconds);
        if (t.seconds != 0 || t.nanoseconds != 0) p.last_handshake = t;
        return ok;
    }
    if (key == "tx_bytes") return parse_num(value, p.tx_bytes);
    if (key == "rx_bytes") return parse_num(value, p.rx_bytes);
    if (key == "persistent_keepalive_interval") return parse_num(value, p.persistent_keepalive_s);
    if (key == "allowed_ip") {
        auto prefix = IpPrefix::parse(value);
        if (!prefix) return false;
        p.allowed_ips.push_back(*prefix);
        return true;
    }
    return true;  // protocol_version and future keys
}

}  // namespace

Framed take_request(std::string_view buffer, bool eof) {
    bool too_long = false;
    const std::size_t nl = line_end(buffer, 0, too_long);
    if (too_long) return reject("UAPI line too long");
    if (nl == std::string_view::npos) {
        Framed f;
        if (eof && !buffer.empty()) f.kind = Framed::Kind::kClose;
        return f;
    }
    const std::string_view op = buffer.substr(0, nl);
    if (op == "get=1") return take_get(buffer, nl + 1, Operation::kGet, eof);
    if (op == "get=tunless") return take_get(buffer, nl + 1, Operation::kGetTunless, eof);
    if (op == "set=1") return take_set(buffer, nl + 1, eof);
    Framed f;
    f.kind = Framed::Kind::kClose;
    f.failure = Failure{kErrInvalid, "invalid UAPI operation"};
    return f;
}

std::string serialize_get(const DeviceInfo& info) {
    std::string out;
    if (info.private_key && !info.private_key->is_zero()) {
        key_line(out, "private_key", info.private_key->view());
    }
    if (info.listen_port != 0) num_line(out, "listen_port", info.listen_port);
    if (info.fwmark != 0) num_line(out, "fwmark", info.fwmark);
    static const crypto::SymmetricKey kNoPsk;
    for (const PeerInfo& p : info.peers) {
        key_line(out, "public_key", p.public_key.view());
        key_line(out, "preshared_key", p.preshared_key ? p.preshared_key->view() : kNoPsk.view());
        out += "protocol_version=1\n";
        if (p.endpoint.kind == Endpoint::Kind::kUdp)
            out += "endpoint=" + p.endpoint.to_string() + "\n";
        const WallTime t = p.last_handshake.value_or(WallTime{});
        num_line(out, "last_handshake_time_sec", t.seconds);
        num_line(out, "last_handshake_time_nsec", t.nanoseconds);
        num_line(out, "tx_bytes", p.tx_bytes);
        num_line(out, "rx_bytes", p.rx_bytes);
        num_line(out, "persistent_keepalive_interval", p.persistent_keepalive_s);
        for (const IpPrefix& a : p.allowed_ips) out += "allowed_ip=" + a.to_string() + "\n";
    }
    return out;
}

std::string errno_reply(int errno_value) { return "errno=" + std::to_string(errno_value) + "\n\n"; }

Result<DeviceInfo> parse_get_reply(std::string_view reply) {
    auto kv = split_reply(reply);
    if (!kv) return kv.error();
    DeviceInfo info;
    for (const auto& [key, value] : *kv) {
        if (!apply_get_line(info, key, value)) {
            return fail(Errc::kProtocol, "malformed value for " + key);
        }
    }
    return info;
}

std::string serialize_pairs(const KeyValues& pairs) {
    std::string out;
    for (const auto& [key, value] : pairs) {
        out += key;
        out += '=';
        for (char c : value) out += (c == '\n' || c == '\r') ? ' ' : c;
        out += '\n';
    }
    return out;
}

Result<KeyValues> parse_pairs_reply(std::string_view reply) { return split_reply(reply); }

std::size_t reply_length(std::string_view buffer) {
    if (!buffer.empty() && buffer.front() == '\n') return 1;
    const std::size_t end = buffer.find("\n\n");
    return end == std::string_view::npos ? 0 : end + 2;
}

}  // namespace tunless::uapi
