#include "tools/tunless/status_command.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <vector>

#include "core/crypto/x25519.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/app/uapi_server.hpp"
#include "tools/tunless/exit_codes.hpp"
#include "transports/unix_socket.hpp"

namespace tunless::cli {
namespace {

constexpr auto kTimeout = std::chrono::seconds(3);

struct Answer {
    uapi::DeviceInfo info;
    uapi::KeyValues counters;
};

bool send_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Sends `request` and reads `replies` complete replies (bounded size and time).
Result<std::vector<std::string>> exchange(const std::string& path, std::string_view request,
                                          int replies) {
    auto fd = io::connect_unix(path, kTimeout);
    if (!fd) return fd.error();
    if (!send_all(fd->get(), request)) return fail(Errc::kIo, "write to " + path + " failed");
    std::string buf;
    std::vector<std::string> out;
    while (static_cast<int>(out.size()) < replies) {
        if (std::size_t n = uapi::reply_length(buf); n != 0) {
            out.push_back(buf.substr(0, n));
            buf.erase(0, n);
            continue;
        }
        if (buf.size() > 16 * uapi::kMaxRequestBytes)
            return fail(Errc::kProtocol, "reply too large");
        char tmp[4096];
        const ssize_t n = ::read(fd->get(), tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return fail(Errc::kProtocol, path + " closed the connection (not a tunless socket?)");
        buf.append(tmp, static_cast<std::size_t>(n));
    }
    return out;
}

Result<Answer> query(const std::string& path) {
    auto replies = exchange(path, "get=1\n\nget=tunless\n\n", 2);
    if (!replies) return replies.error();
    auto info = uapi::parse_get_reply((*replies)[0]);
    if (!info) return info.error();
    auto kv = uapi::parse_pairs_reply((*replies)[1]);
    if (!kv) return kv.error();
    return Answer{std::move(*info), std::move(*kv)};
}

// Every NAME.sock in the candidate directories that answers get=tunless.
std::vector<std::pair<std::string, std::string>> find_running() {
    std::vector<std::pair<std::string, std::string>> found;
    for (const std::string& probe : app::control_socket_candidates("x")) {
        const std::string dir = probe.substr(0, probe.rfind('/'));
        DIR* d = ::opendir(dir.c_str());
        if (d == nullptr) continue;
        while (const dirent* e = ::readdir(d)) {
            const std::string file = e->d_name;
            if (file.size() <= 5 || file.compare(file.size() - 5, 5, ".sock") != 0) continue;
            const std::string path = dir + "/" + file;
            if (exchange(path, "get=tunless\n\n", 1))
                found.emplace_back(file.substr(0, file.size() - 5), path);
        }
        ::closedir(d);
    }
    return found;
}

Result<std::pair<std::string, std::string>> locate(const CliOptions& o) {
    if (o.name) {
        Error last{Errc::kNotFound, "no control socket for " + *o.name};
        for (const std::string& path : app::control_socket_candidates(*o.name)) {
            if (::access(path.c_str(), F_OK) == 0) return std::make_pair(*o.name, path);
        }
        return last;
    }
    auto found = find_running();
    if (found.size() == 1) return found.front();
    if (found.empty())
        return fail(Errc::kNotFound, "no running tunless found (is it up? try --name NAME)");
    std::string names;
    for (const auto& f : found) names += " " + f.first;
    return fail(Errc::kInvalidArgument,
                "several tunless nodes are running:" + names + "; pick one with --name");
}

std::string bytes_text(std::uint64_t b) {
    if (b < 1024) return fmt::format("{} B", b);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b) / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        ++u;
    }
    return fmt::format("{:.2f} {}", v, units[u]);
}

std::string ago_text(std::time_t now, std::int64_t then) {
    std::int64_t s = now - then;
    if (s < 0) s = 0;
    std::string out;
    const std::int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    auto part = [&out](std::int64_t n, const char* unit) {
        if (n == 0) return;
        out += fmt::format("{}{} {}{}", out.empty() ? "" : ", ", n, unit, n == 1 ? "" : "s");
    };
    part(d, "day");
    part(h, "hour");
    part(m, "minute");
    part(sec, "second");
    return out.empty() ? "now" : out + " ago";
}

std::string counter(const uapi::KeyValues& kv, std::string_view key) {
    for (const auto& [k, v] : kv) {
        if (k == key) return v;
    }
    return "";
}

bool is_number(std::string_view v) {
    std::uint64_t x = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    return !v.empty() && ec == std::errc() && end == v.data() + v.size();
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            out += fmt::format("\\u{:04x}", u);
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string public_key_text(const uapi::DeviceInfo& info) {
    if (!info.private_key) return "(none)";
    return crypto::key_to_base64(crypto::public_key_from_private(*info.private_key).view());
}

// Keys shown in their own lines of the interface block; everything else is a service counter.
bool is_core_key(const std::string& k) {
    static constexpr std::string_view kExact[] = {"version", "interface", "config_file", "address",
                                                  "mtu"};
    static constexpr std::string_view kPrefixes[] = {"drop.",    "handshake.", "udp.",
                                                     "netstack.", "peer.",     "datapath.",
                                                     "tailnet."};
    for (std::string_view e : kExact) {
        if (k == e) return true;
    }
    for (std::string_view p : kPrefixes) {
        if (k.rfind(p, 0) == 0) return true;
    }
    return false;
}

std::string interface_text(const std::string& name, const uapi::DeviceInfo& info,
                           const uapi::KeyValues& kv) {
    std::string out = fmt::format("interface: {}\n  public key: {}\n  private key: (hidden)\n",
                                  name, public_key_text(info));
    out += fmt::format("  listening port: {}\n", info.listen_port);
    std::string addrs;
    std::string drops;
    for (const auto& [k, v] : kv) {
        if (k == "address") addrs += (addrs.empty() ? "" : ", ") + v;
        if (k.rfind("drop.", 0) == 0 && v != "0") drops += fmt::format(" {}={}", k.substr(5), v);
    }
    if (!addrs.empty()) out += "  addresses: " + addrs + "\n";
    out += fmt::format("  handshakes: {} initiated, {} completed\n",
                       counter(kv, "handshake.initiated"), counter(kv, "handshake.completed"));
    out += "  drops:" + (drops.empty() ? std::string(" none") : drops) + "\n";
    out += fmt::format("  udp: {} datagrams received, {} sent\n", counter(kv, "udp.rx_datagrams"),
                       counter(kv, "udp.tx_datagrams"));
    out += fmt::format("  netstack: {} TCP connections, heap {} B (peak {} B)\n",
                       counter(kv, "netstack.tcp_connections"),
                       counter(kv, "netstack.heap_used_bytes"),
                       counter(kv, "netstack.heap_peak_bytes"));
    for (const auto& [k, v] : kv) {
        // Service counters (proxies, forwards) contributed through ServiceHooks.
        if (!is_core_key(k)) out += fmt::format("  {}: {}\n", k, v);
    }
    return out;
}

std::string peer_text(const uapi::PeerInfo& p, const uapi::KeyValues& kv, std::time_t now) {
    std::string out = fmt::format("\npeer: {}\n", crypto::key_to_base64(p.public_key.view()));
    if (p.preshared_key) out += "  preshared key: (hidden)\n";
    if (p.endpoint.is_set()) out += "  endpoint: " + p.endpoint.to_string() + "\n";
    std::string ips;
    for (const auto& a : p.allowed_ips) ips += (ips.empty() ? "" : ", ") + a.to_string();
    out += "  allowed ips: " + (ips.empty() ? std::string("(none)") : ips) + "\n";
    out += "  latest handshake: " +
           (p.last_handshake ? ago_text(now, p.last_handshake->seconds) : std::string("never")) +
           "\n";
    out += fmt::format("  transfer: {} received, {} sent\n", bytes_text(p.rx_bytes),
                       bytes_text(p.tx_bytes));
    if (p.persistent_keepalive_s != 0) {
        out += fmt::format("  persistent keepalive: every {} seconds\n", p.persistent_keepalive_s);
    }
    const std::string session =
        counter(kv, "peer." + crypto::key_to_hex(p.public_key.view()) + ".session");
    if (!session.empty()) out += "  session: " + session + "\n";
    return out;
}

// The "tailnet.*" lines of a [Tailnet] node (app/tailnet_node.cpp), grouped.
struct TailnetView {
    bool present = false;
    std::map<std::string, std::string> fields;        // state, detail, node_name, ...
    std::vector<std::string> addresses;
    std::map<std::string, std::map<std::string, std::string>> peers;  // id -> field -> value
    std::map<std::string, std::map<std::string, std::string>> derp;   // region -> field -> value
};

TailnetView tailnet_view(const uapi::KeyValues& kv) {
    TailnetView v;
    constexpr std::string_view kPrefix = "tailnet.";
    for (const auto& [k, val] : kv) {
        if (k.rfind(kPrefix, 0) != 0) continue;
        v.present = true;
        const std::string rest = k.substr(kPrefix.size());
        const auto dot = rest.find('.');
        const std::string group = rest.substr(0, dot);
        if (rest == "addresses") {
            for (std::size_t start = 0; start < val.size();) {
                const auto comma = std::min(val.find(',', start), val.size());
                v.addresses.push_back(val.substr(start, comma - start));
                start = comma + 1;
            }
        } else if ((group == "peer" || group == "derp") && dot != std::string::npos) {
            const std::string tail = rest.substr(dot + 1);
            const auto dot2 = tail.find('.');
            if (dot2 == std::string::npos) continue;
            auto& table = group == "peer" ? v.peers : v.derp;
            table[tail.substr(0, dot2)][tail.substr(dot2 + 1)] = val;
        } else {
            v.fields[rest] = val;
        }
    }
    return v;
}

std::string field(const std::map<std::string, std::string>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string() : it->second;
}

std::string tailnet_text(const TailnetView& v) {
    if (!v.present) return {};
    std::string out = "\ntailnet: " + field(v.fields, "state");
    if (const std::string d = field(v.fields, "detail"); !d.empty()) out += " (" + d + ")";
    out += "\n  control: " + field(v.fields, "control_url") + "\n";
    if (const std::string n = field(v.fields, "node_name"); !n.empty()) out += "  node: " + n + "\n";
    std::string addrs;
    for (const auto& a : v.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
    if (!addrs.empty()) out += "  addresses: " + addrs + "\n";
    out += "  home DERP region: " + field(v.fields, "home_derp") + "\n";
    for (const auto& [region, f] : v.derp) {
        out += fmt::format("  DERP {}: {} (packets in {}, out {}, drops {})\n", region,
                           field(f, "connected") == "true" ? "connected" : "down",
                           field(f, "packets_in"), field(f, "packets_out"), field(f, "drops"));
    }
    for (const auto& [id, f] : v.peers) {
        out += fmt::format("  peer {}: {} {} via {}\n", field(f, "name"), field(f, "addresses"),
                           field(f, "online") == "true" ? "online" : "offline", field(f, "path"));
    }
    return out;
}

std::string tailnet_json(const TailnetView& v) {
    std::string out = "  \"tailnet\": {";
    bool first = true;
    auto add = [&out, &first](const std::string& key, const std::string& value) {
        out += (first ? "\n    " : ",\n    ") + json_string(key) + ": " + value;
        first = false;
    };
    for (const char* k : {"state", "detail", "control_url", "node_name", "node_key"}) {
        add(k, json_string(field(v.fields, k)));
    }
    std::string addrs = "[";
    for (std::size_t i = 0; i < v.addresses.size(); ++i) {
        addrs += (i == 0 ? "" : ", ") + json_string(v.addresses[i]);
    }
    add("addresses", addrs + "]");
    const std::string home = field(v.fields, "home_derp");
    add("home_derp", is_number(home) ? home : "0");
    std::string peers = "[";
    for (const auto& [id, f] : v.peers) {
        std::string peer_addrs = "[";
        std::string list = field(f, "addresses");
        for (std::size_t start = 0; !list.empty() && start <= list.size();) {
            const auto comma = list.find(',', start);
            const std::string one = list.substr(start, comma - start);
            peer_addrs += (peer_addrs.size() == 1 ? "" : ", ") + json_string(one);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        peers += std::string(peers.size() == 1 ? "\n      " : ",\n      ") + "{\"id\": " +
                 (is_number(id) ? id : json_string(id)) +
                 ", \"name\": " + json_string(field(f, "name")) +
                 ", \"node_key\": " + json_string(field(f, "node_key")) +
                 ", \"addresses\": " + peer_addrs + "]" +
                 ", \"online\": " + (field(f, "online") == "true" ? "true" : "false") +
                 ", \"path\": " + json_string(field(f, "path")) + "}";
    }
    add("peers", peers + (v.peers.empty() ? "]" : "\n    ]"));
    std::string derp = "[";
    for (const auto& [region, f] : v.derp) {
        derp += std::string(derp.size() == 1 ? "" : ", ") + "{\"region\": " +
                (is_number(region) ? region : "0") + ", \"connected\": " +
                (field(f, "connected") == "true" ? "true" : "false") + "}";
    }
    add("derp", derp + "]");
    return out + "\n  },\n";
}

}  // namespace

std::string format_status_text(const std::string& name, const uapi::DeviceInfo& info,
                               const uapi::KeyValues& kv, std::time_t now) {
    std::string out = interface_text(name, info, kv);
    out += tailnet_text(tailnet_view(kv));
    for (const uapi::PeerInfo& p : info.peers) out += peer_text(p, kv, now);
    return out;
}

std::string format_status_json(const std::string& name, const uapi::DeviceInfo& info,
                               const uapi::KeyValues& kv, std::time_t now) {
    std::string out = "{\n";
    out += "  \"interface\": " + json_string(name) + ",\n";
    out += "  \"public_key\": " + (info.private_key ? json_string(public_key_text(info)) : "null") +
           ",\n";
    out += fmt::format("  \"listen_port\": {},\n  \"fwmark\": {},\n  \"peers\": [",
                       info.listen_port, info.fwmark);
    for (std::size_t i = 0; i < info.peers.size(); ++i) {
        const uapi::PeerInfo& p = info.peers[i];
        out += i == 0 ? "\n" : ",\n";
        out += "    {\"public_key\": " + json_string(crypto::key_to_base64(p.public_key.view()));
        out += std::string(", \"preshared_key\": ") + (p.preshared_key ? "true" : "false");
        out += ", \"endpoint\": " +
               (p.endpoint.is_set() ? json_string(p.endpoint.to_string()) : "null");
        out += ", \"allowed_ips\": [";
        for (std::size_t j = 0; j < p.allowed_ips.size(); ++j) {
            out += (j == 0 ? "" : ", ") + json_string(p.allowed_ips[j].to_string());
        }
        out += "]";
        if (p.last_handshake) {
            out += fmt::format(", \"latest_handshake\": {}, \"latest_handshake_seconds_ago\": {}",
                               p.last_handshake->seconds,
                               std::max<std::int64_t>(0, now - p.last_handshake->seconds));
        } else {
            out += ", \"latest_handshake\": 0, \"latest_handshake_seconds_ago\": null";
        }
        out += fmt::format(", \"rx_bytes\": {}, \"tx_bytes\": {}, \"persistent_keepalive\": {}",
                           p.rx_bytes, p.tx_bytes, p.persistent_keepalive_s);
        const std::string session =
            counter(kv, "peer." + crypto::key_to_hex(p.public_key.view()) + ".session");
        out += ", \"session\": " + (session.empty() ? "null" : json_string(session)) + "}";
    }
    out += info.peers.empty() ? "],\n" : "\n  ],\n";
    if (const TailnetView tv = tailnet_view(kv); tv.present) out += tailnet_json(tv);
    out += "  \"counters\": {";
    for (std::size_t i = 0; i < kv.size(); ++i) {
        out += (i == 0 ? "\n    " : ",\n    ") + json_string(kv[i].first) + ": " +
               (is_number(kv[i].second) ? kv[i].second : json_string(kv[i].second));
    }
    out += kv.empty() ? "}\n}\n" : "\n  }\n}\n";
    return out;
}

int run_status(const CliOptions& o) {
    auto where = locate(o);
    if (!where) {
        log::error("{}", where.error().message);
        return where.error().code == Errc::kInvalidArgument ? kExitUsage : kExitRuntime;
    }
    auto answer = query(where->second);
    if (!answer) {
        log::error("{}: {}", where->second, answer.error().message);
        return kExitRuntime;
    }
    const std::time_t now = std::time(nullptr);
    const std::string text =
        o.json ? format_status_json(where->first, answer->info, answer->counters, now)
               : format_status_text(where->first, answer->info, answer->counters, now);
    std::fputs(text.c_str(), stdout);
    return kExitOk;
}

}  // namespace tunless::cli
