// [Tailnet]: the keys that make tunless a Tailscale/headscale client, and how the section
// combines with [Interface] and [Peer]. With a tailnet the control server owns the node's
// identity (node key, addresses) and its peers (the netmap), so the config must not set them.
#include <algorithm>

#include "core/config/sections.hpp"
#include "core/config/values.hpp"

namespace tunless::cfg::detail {
namespace {

constexpr std::size_t kMaxAuthKeyBytes = 512;  // Tailscale keys are ~60, headscale's ~50
constexpr std::size_t kMaxHostnameBytes = 63;  // one DNS label (RFC 1035 §2.3.4)
constexpr std::string_view kAuthKeyFilePrefix = "file:";
constexpr std::string_view kMachineKeyPrefix = "mkey:";  // tailscale types/key/machine.go

bool printable_no_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// The Hostname becomes the node's MagicDNS label, so it must be one DNS label.
Status check_hostname(std::string_view s) {
    if (s.empty() || s.size() > kMaxHostnameBytes || !std::all_of(s.begin(), s.end(), is_label_char) ||
        s.front() == '-' || s.back() == '-') {
        return fail(Errc::kInvalidArgument,
                    "must be one DNS label: 1-63 letters, digits and '-', not starting or "
                    "ending with '-'");
    }
    return {};
}

Status check_absolute_path(std::string_view s) {
    if (s.empty() || s.front() != '/') {
        return fail(Errc::kInvalidArgument, "needs an absolute path");
    }
    const bool control = std::any_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (control) {
        return fail(Errc::kInvalidArgument, "path contains control characters");
    }
    return {};
}

// The literal is a secret: no message below may contain it.
Result<AuthKeySource> parse_auth_key(std::string_view v) {
    if (v.substr(0, kAuthKeyFilePrefix.size()) == kAuthKeyFilePrefix) {
        const std::string_view path = trim(v.substr(kAuthKeyFilePrefix.size()));
        if (Status st = check_absolute_path(path); !st) {
            return fail(Errc::kInvalidArgument,
                        "file: " + st.error().message + " (e.g. file:/etc/tunless/authkey)");
        }
        return AuthKeySource{AuthKeySource::Kind::kFile, std::string(path)};
    }
    if (v.size() > kMaxAuthKeyBytes || !printable_no_space(v)) {
        return fail(Errc::kInvalidArgument,
                    "must be 1-" + std::to_string(kMaxAuthKeyBytes) +
                        " printable characters without spaces, or file:/path (value not shown)");
    }
    return AuthKeySource{AuthKeySource::Kind::kLiteral, std::string(v)};
}

Result<crypto::PublicKey> parse_control_key(std::string_view v) {
    Result<std::array<std::uint8_t, crypto::kKeyLen>> bytes =
        fail(Errc::kInvalidArgument, "missing prefix");
    if (v.substr(0, kMachineKeyPrefix.size()) == kMachineKeyPrefix) {
        bytes = crypto::key_from_hex(v.substr(kMachineKeyPrefix.size()));
    }
    if (!bytes) {
        return fail(Errc::kInvalidArgument,
                    "expected 'mkey:' and 64 hex digits (the server's public machine key, as "
                    "served at <ControlURL>/key)");
    }
    crypto::PublicKey key;
    key.bytes = *bytes;
    return key;
}

Status apply(TailnetConfig& t, const KeyLine& k) {
    if (k.key_lc == "controlurl") {
        auto url = parse_control_url(k.value);
        if (!url) {
            return url.error();
        }
        t.control_url = *url;
    } else if (k.key_lc == "authkey") {
        auto key = parse_auth_key(k.value);
        if (!key) {
            return key.error();
        }
        t.auth_key = std::move(*key);
    } else if (k.key_lc == "hostname") {
        if (Status st = check_hostname(k.value); !st) {
            return st;
        }
        t.hostname = std::string(k.value);
    } else if (k.key_lc == "ephemeral") {
        if (k.value != "true" && k.value != "false") {
            return fail(Errc::kInvalidArgument, "expected true or false");
        }
        t.ephemeral = k.value == "true";
    } else if (k.key_lc == "controlkey") {
        auto key = parse_control_key(k.value);
        if (!key) {
            return key.error();
        }
        t.control_key = *key;
    } else {
        if (Status st = check_absolute_path(k.value); !st) {
            return st;
        }
        t.ca_file = std::string(k.value);
    }
    return {};
}

constexpr std::string_view kTailnetKeys[] = {"controlurl", "authkey",    "hostname",
                                             "ephemeral",  "controlkey", "cafile"};

int line_of(const Section& s, const char* key_lc) {
    const auto it = s.seen.find(key_lc);
    return it != s.seen.end() ? it->second : s.line;
}

}  // namespace

void tailnet_key(Diagnostics& d, Section& s, TailnetConfig& t, const KeyLine& k) {
    if (std::find(std::begin(kTailnetKeys), std::end(kTailnetKeys), k.key_lc) ==
        std::end(kTailnetKeys)) {
        const bool iface = k.key_lc == "mtu" || k.key_lc == "listenport" || k.key_lc == "dns";
        d.error(k.line, "unknown key '" + std::string(k.key) + "' in [Tailnet]" +
                            (iface ? " (set it in [Interface])" : ""));
        return;
    }
    if (!s.first_use(k, d)) {
        return;
    }
    if (Status st = apply(t, k); !st) {
        d.error(k.line, std::string(k.key) + ": " + st.error().message);
    }
}

void tailnet_finish(Diagnostics& d, const Section& s) {
    if (!s.has("controlurl")) {
        d.error(s.line,
                "[Tailnet] needs ControlURL (e.g. ControlURL = https://headscale.example.com)");
    }
}

void tailnet_combine(Diagnostics& d, const Section& iface_section, Config& c) {
    const std::string tailnet_at = " ([Tailnet] at line " + std::to_string(c.tailnet.line) + ")";
    if (iface_section.has("privatekey")) {
        d.error(line_of(iface_section, "privatekey"),
                "PrivateKey must not be set with [Tailnet]: the node key is kept in the state "
                "directory" + tailnet_at);
    }
    if (iface_section.has("address")) {
        d.error(line_of(iface_section, "address"),
                "Address must not be set with [Tailnet]: the control server assigns the "
                "addresses" + tailnet_at);
    }
    if (!iface_section.has("mtu")) {
        c.iface.mtu = kTailnetMtu;
    } else if (c.iface.mtu < kTailnetMtu) {
        d.error(line_of(iface_section, "mtu"),
                "MTU: a tailnet node has an IPv6 address, so at least 1280 (RFC 8200 §5)");
    }
    for (const PeerEntry& p : c.peers) {
        d.error(p.line, "[Peer] cannot be combined with [Tailnet]: the peers come from the "
                        "control server" + tailnet_at);
    }
}

}  // namespace tunless::cfg::detail
