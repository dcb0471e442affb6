// Serialisers for the requests tunless sends to control: RegisterRequest and MapRequest
// (tailscale tailcfg/tailcfg.go). Go field names verbatim. Key fields are omitted rather than
// written as "" because Go's key UnmarshalText rejects an empty string (docs: tailscale.md 2.1).
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/tailnet/keys.hpp"
#include "core/tailnet/tailcfg.hpp"

namespace tunless::tailnet {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(Writer& w, const char* name) { w.Key(name); }

void str(Writer& w, const char* name, std::string_view value) {
    w.Key(name);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void str_if(Writer& w, const char* name, std::string_view value) {
    if (!value.empty()) str(w, name, value);
}

void write_net_info(Writer& w, const NetInfo& ni) {
    w.StartObject();
    if (ni.preferred_derp != 0) {
        key(w, "PreferredDERP");
        w.Int(ni.preferred_derp);
    }
    if (!ni.derp_latency.empty()) {
        key(w, "DERPLatency");
        w.StartObject();
        for (const auto& [region, seconds] : ni.derp_latency) {
            w.Key(region.data(), static_cast<rapidjson::SizeType>(region.size()));
            w.Double(seconds);
        }
        w.EndObject();
    }
    w.EndObject();
}

void write_hostinfo(Writer& w, const Hostinfo& hi) {
    w.StartObject();
    str_if(w, "IPNVersion", hi.ipn_version);
    str_if(w, "OS", hi.os);
    str_if(w, "OSVersion", hi.os_version);
    str_if(w, "App", hi.app);
    str_if(w, "Hostname", hi.hostname);
    if (!hi.request_tags.empty()) {
        key(w, "RequestTags");
        w.StartArray();
        for (const auto& t : hi.request_tags) {
            w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
        }
        w.EndArray();
    }
    if (hi.net_info) {
        key(w, "NetInfo");
        write_net_info(w, *hi.net_info);
    }
    if (hi.userspace) {
        key(w, "Userspace");
        w.Bool(true);
    }
    w.EndObject();
}

void write_key(Writer& w, const char* name, KeyKind kind, const crypto::PublicKey& k) {
    if (k.is_zero()) return;
    str(w, name, key_to_text(kind, k.view()));
}

}  // namespace

std::string to_json(const RegisterRequest& req) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    key(w, "Version");
    w.Int(req.version);
    write_key(w, "NodeKey", KeyKind::kNodePublic, req.node_key);
    if (req.old_node_key) write_key(w, "OldNodeKey", KeyKind::kNodePublic, *req.old_node_key);
    if (req.auth_key) {
        key(w, "Auth");
        w.StartObject();
        str(w, "AuthKey", *req.auth_key);
        w.EndObject();
    }
    if (req.expiry) str(w, "Expiry", format_rfc3339(*req.expiry));
    str_if(w, "Followup", req.followup);
    key(w, "Hostinfo");
    write_hostinfo(w, req.hostinfo);
    if (req.ephemeral) {
        key(w, "Ephemeral");
        w.Bool(true);
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

std::string to_json(const MapRequest& req) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    key(w, "Version");
    w.Int(req.version);
    if (req.keep_alive) {
        key(w, "KeepAlive");
        w.Bool(true);
    }
    write_key(w, "NodeKey", KeyKind::kNodePublic, req.node_key);
    write_key(w, "DiscoKey", KeyKind::kDiscoPublic, req.disco_key);
    if (req.stream) {
        key(w, "Stream");
        w.Bool(true);
    }
    key(w, "Hostinfo");
    write_hostinfo(w, req.hostinfo);
    std::vector<int> types;
    bool first = true;
    for (std::size_t i = 0; i < req.endpoints.size(); ++i) {
        const Endpoint& ep = req.endpoints[i];
        if (ep.kind != Endpoint::Kind::kUdp) continue;  // only "ip:port" exists on the wire
        if (first) {
            key(w, "Endpoints");
            w.StartArray();
            first = false;
        }
        // "1.2.3.4:5" / "[v6]:5": the text form of Go's netip.AddrPort.
        const std::string text = ep.to_string();
        w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
        types.push_back(i < req.endpoint_types.size() ? req.endpoint_types[i] : 0);
    }
    if (!first) {
        w.EndArray();
        key(w, "EndpointTypes");
        w.StartArray();
        for (int t : types) w.Int(t);
        w.EndArray();
    }
    if (req.omit_peers) {
        key(w, "OmitPeers");
        w.Bool(true);
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

}  // namespace tunless::tailnet
