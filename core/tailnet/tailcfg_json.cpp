#include "core/tailnet/tailcfg_json.hpp"

#include <rapidjson/error/en.h>

namespace tunless::tailnet::json {

namespace {

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_fold(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (fold(a[i]) != fold(b[i])) return false;
    }
    return true;
}

// Nesting depth of `text` without building anything: brackets outside strings. Malformed input
// is left to the real parser; this only bounds what it would build.
bool depth_within(std::string_view text, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) return false;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return true;
}

}  // namespace

Status parse_document(std::string_view text, std::size_t max_bytes, std::size_t max_depth,
                      rapidjson::Document& doc) {
    if (text.size() > max_bytes) {
        return fail(Errc::kLimitReached, "JSON of " + std::to_string(text.size()) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(max_bytes));
    }
    if (!depth_within(text, max_depth)) {
        return fail(Errc::kLimitReached,
                    "JSON nested deeper than " + std::to_string(max_depth) + " levels");
    }
    // Iterative: RapidJSON's recursive descent would follow the input's nesting on our stack.
    doc.Parse<rapidjson::kParseDefaultFlags | rapidjson::kParseIterativeFlag>(text.data(),
                                                                              text.size());
    if (doc.HasParseError()) {
        return fail(Errc::kProtocol, std::string("malformed JSON at offset ") +
                                         std::to_string(doc.GetErrorOffset()) + ": " +
                                         rapidjson::GetParseError_En(doc.GetParseError()));
    }
    if (!doc.IsObject()) {
        return fail(Errc::kProtocol, "JSON top level is not an object");
    }
    return {};
}

const Value* member(const Value& obj, std::string_view name) {
    if (!obj.IsObject()) return nullptr;
    const Value* found = nullptr;
    const auto exact = obj.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
    if (exact != obj.MemberEnd()) {
        found = &exact->value;
    } else {
        // Go's encoding/json matches field names case-insensitively when no exact match exists.
        for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
            if (equal_fold(as_view(it->name), name)) {
                found = &it->value;
                break;
            }
        }
    }
    return (found != nullptr && !found->IsNull()) ? found : nullptr;
}

std::string_view as_view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

Error with_context(Error e, std::string_view ctx) {
    e.message = std::string(ctx) +
                (e.message.empty() || e.message[0] == '[' || e.message[0] == ':' ? "" : ".") +
                e.message;
    return e;
}

Error type_error(std::string_view name, const char* want) {
    return make_error(Errc::kProtocol, std::string(name) + ": expected " + want);
}

Status get_string(const Value& obj, std::string_view name, std::string& out) {
    const Value* v = member(obj, name);
    if (v == nullptr) return {};
    if (!v->IsString()) return type_error(name, "a string");
    out.assign(v->GetString(), v->GetStringLength());
    return {};
}

Status get_bool(const Value& obj, std::string_view name, bool& out) {
    const Value* v = member(obj, name);
    if (v == nullptr) return {};
    if (!v->IsBool()) return type_error(name, "a boolean");
    out = v->GetBool();
    return {};
}

Status get_opt_bool(const Value& obj, std::string_view name, std::optional<bool>& out) {
    bool b = false;
    if (member(obj, name) == nullptr) return {};
    if (auto s = get_bool(obj, name, b); !s) return s;
    out = b;
    return {};
}

Status get_int(const Value& obj, std::string_view name, int& out) {
    const Value* v = member(obj, name);
    if (v == nullptr) return {};
    if (!v->IsInt()) return type_error(name, "a 32-bit integer");
    out = v->GetInt();
    return {};
}

Status get_int64(const Value& obj, std::string_view name, std::int64_t& out) {
    const Value* v = member(obj, name);
    if (v == nullptr) return {};
    if (!v->IsInt64()) return type_error(name, "a 64-bit integer");
    out = v->GetInt64();
    return {};
}

Status get_time(const Value& obj, std::string_view name, std::optional<Timestamp>& out,
                bool keep_zero) {
    const Value* v = member(obj, name);
    if (v == nullptr) return {};
    if (!v->IsString()) return type_error(name, "an RFC 3339 string");
    const auto t = parse_rfc3339(as_view(*v));
    if (!t) return type_error(name, "an RFC 3339 time");
    if (!keep_zero && t->unix_seconds == kGoZeroTimeUnix && t->nanos == 0) {
        out.reset();
    } else {
        out = *t;
    }
    return {};
}

Status get_key(const Value& obj, std::string_view name, KeyKind kind,
               std::optional<crypto::PublicKey>& out) {
    const Value* v = member(obj, name);
    if (v == nullptr) return {};
    if (!v->IsString()) return type_error(name, "a key string");
    auto k = public_key_from_text(kind, as_view(*v));
    if (!k) return make_error(Errc::kProtocol, std::string(name) + ": " + k.error().message);
    out = *k;
    return {};
}

Result<const Value*> get_array(const Value& obj, std::string_view name, std::size_t max) {
    const Value* v = member(obj, name);
    if (v == nullptr) return static_cast<const Value*>(nullptr);
    if (!v->IsArray()) return type_error(name, "an array");
    if (v->Size() > max) {
        return make_error(Errc::kLimitReached, std::string(name) + ": more than " +
                                                   std::to_string(max) + " entries");
    }
    return v;
}

Result<const Value*> get_object(const Value& obj, std::string_view name) {
    const Value* v = member(obj, name);
    if (v == nullptr) return static_cast<const Value*>(nullptr);
    if (!v->IsObject()) return type_error(name, "an object");
    return v;
}

namespace {

// The walk the list getters share: checks the member's type and length, reports whether it was
// present, and hands each element's text to `take`, which may reject it.
template <typename Take>
Status for_each_string(const Value& obj, std::string_view name, std::size_t max, const char* want,
                       bool& present, Take&& take) {
    auto arr = get_array(obj, name, max);
    if (!arr) return arr.error();
    present = *arr != nullptr;
    if (!present) return {};
    for (const Value& e : (*arr)->GetArray()) {
        if (!e.IsString()) return type_error(name, want);
        if (Status s = take(as_view(e)); !s) return s;
    }
    return {};
}

}  // namespace

Status get_string_list(const Value& obj, std::string_view name, std::size_t max,
                       std::vector<std::string>& out) {
    out.clear();
    bool present = false;
    return for_each_string(obj, name, max, "an array of strings", present,
                           [&](std::string_view text) -> Status {
                               out.emplace_back(text);
                               return {};
                           });
}

Status get_endpoints(const Value& obj, std::string_view name, std::size_t max,
                     std::vector<Endpoint>& out, bool& present) {
    out.clear();
    return for_each_string(obj, name, max, "an array of \"ip:port\" strings", present,
                           [&](std::string_view text) -> Status {
                               if (auto ep = Endpoint::parse_numeric(text)) out.push_back(*ep);
                               return {};
                           });
}

Status get_prefixes(const Value& obj, std::string_view name, std::size_t max,
                    std::vector<IpPrefix>& out, bool& present) {
    out.clear();
    return for_each_string(
        obj, name, max, "an array of prefix strings", present,
        [&](std::string_view text) -> Status {
            // netip.Prefix text always carries "/bits"; a bare address is malformed for Go.
            const auto p = text.find('/') == std::string_view::npos ? std::nullopt
                                                                     : IpPrefix::parse(text);
            if (!p) return type_error(name, "IP prefixes (\"100.64.0.1/32\")");
            out.push_back(*p);
            return {};
        });
}

}  // namespace tunless::tailnet::json
