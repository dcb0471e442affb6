// Private helpers of the tailcfg readers (tailcfg_read*.cpp): bounded RapidJSON parsing and typed
// member getters with Go encoding/json semantics (member names match case-insensitively,
// absent or null leaves the default, a wrong type is an error). Every getter checks the JSON
// type before reading, so peer input can never reach a RapidJSON assertion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/crypto/keys.hpp"
#include "core/tailnet/keys.hpp"
#include "core/tailnet/tailcfg.hpp"

namespace tunless::tailnet::json {

using Value = rapidjson::Value;

// Parses `text` (bounded size and nesting depth; iterative, so no recursion on deep input).
Status parse_document(std::string_view text, std::size_t max_bytes, std::size_t max_depth,
                      rapidjson::Document& doc);

// Member `name` of an object (exact match first, then ASCII case-insensitive as Go does);
// nullptr when absent, when its value is null, or when `obj` is not an object.
const Value* member(const Value& obj, std::string_view name);

std::string_view as_view(const Value& v);  // v must be a string (checked by callers)

// "name: msg" with the field path growing outward: with_context(e, "Peers[2]").
Error with_context(Error e, std::string_view ctx);
Error type_error(std::string_view name, const char* want);

Status get_string(const Value& obj, std::string_view name, std::string& out);
Status get_bool(const Value& obj, std::string_view name, bool& out);
Status get_opt_bool(const Value& obj, std::string_view name, std::optional<bool>& out);
Status get_int(const Value& obj, std::string_view name, int& out);
Status get_int64(const Value& obj, std::string_view name, std::int64_t& out);
// Go's zero time counts as absent unless keep_zero (PeerChange: "zero" = "no longer expires").
Status get_time(const Value& obj, std::string_view name, std::optional<Timestamp>& out,
                bool keep_zero = false);
// A typed key text; zero keys are kept (callers decide what zero means).
Status get_key(const Value& obj, std::string_view name, KeyKind kind,
               std::optional<crypto::PublicKey>& out);
Status get_string_list(const Value& obj, std::string_view name, std::size_t max,
                       std::vector<std::string>& out);
// "ip:port" strings; non-numeric or malformed entries are skipped. `present` reports whether the
// member was a (possibly empty) array, for PeerChange's nil-vs-empty distinction.
Status get_endpoints(const Value& obj, std::string_view name, std::size_t max,
                     std::vector<Endpoint>& out, bool& present);
Status get_prefixes(const Value& obj, std::string_view name, std::size_t max,
                    std::vector<IpPrefix>& out, bool& present);

// Array member: nullptr when absent/null, error when another type or longer than `max`.
Result<const Value*> get_array(const Value& obj, std::string_view name, std::size_t max);
Result<const Value*> get_object(const Value& obj, std::string_view name);

// Reads several members of one object, keeping the first error: the readers stay a flat list of
// field names instead of an if-return ladder.
class FieldReader {
public:
    explicit FieldReader(const Value& obj) : obj_(obj) {}
    FieldReader& str(std::string_view n, std::string& out) { return keep(get_string(obj_, n, out)); }
    FieldReader& boolean(std::string_view n, bool& out) { return keep(get_bool(obj_, n, out)); }
    FieldReader& opt_bool(std::string_view n, std::optional<bool>& out) {
        return keep(get_opt_bool(obj_, n, out));
    }
    FieldReader& i32(std::string_view n, int& out) { return keep(get_int(obj_, n, out)); }
    FieldReader& i64(std::string_view n, std::int64_t& out) { return keep(get_int64(obj_, n, out)); }
    FieldReader& time(std::string_view n, std::optional<Timestamp>& out, bool keep_zero = false) {
        return keep(get_time(obj_, n, out, keep_zero));
    }
    FieldReader& key(std::string_view n, KeyKind kind, std::optional<crypto::PublicKey>& out) {
        return keep(get_key(obj_, n, kind, out));
    }
    FieldReader& strings(std::string_view n, std::size_t max, std::vector<std::string>& out) {
        return keep(get_string_list(obj_, n, max, out));
    }
    Status status() const { return status_; }

private:
    FieldReader& keep(Status s) {
        if (status_ && !s) status_ = std::move(s);
        return *this;
    }
    const Value& obj_;
    Status status_;
};

// Node / DERPMap / PeerChange / FilterRuleSet readers (tailcfg_read_node.cpp).
Result<Node> read_node(const Value& v, const MapLimits& limits);
Result<PeerChange> read_peer_change(const Value& v, const MapLimits& limits);
Result<DERPMap> read_derp_map(const Value& v, const MapLimits& limits);
Result<FilterRuleSet> read_filter_rules(const Value& v, const MapLimits& limits);

}  // namespace tunless::tailnet::json
