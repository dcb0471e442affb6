#include "proxy/target.hpp"

#include <algorithm>

namespace tunless::proxy {

std::optional<DomainName> DomainName::parse(std::string_view text) {
    if (text.empty() || text.size() > kMaxLength) {
        return std::nullopt;
    }
    const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b >= 0x21 && b <= 0x7E;
    });
    if (!printable) {
        return std::nullopt;
    }
    DomainName name;
    std::copy(text.begin(), text.end(), name.chars_.begin());
    name.size_ = text.size();
    return name;
}

Target Target::from_ip(const IpAddress& ip, std::uint16_t port) {
    Target t;
    t.kind = Kind::kIp;
    t.ip = ip;
    t.port = port;
    return t;
}

Target Target::from_domain(const DomainName& name, std::uint16_t port) {
    Target t;
    t.kind = Kind::kDomain;
    t.domain = name;
    t.port = port;
    return t;
}

std::string Target::to_string() const {
    std::string host;
    if (is_domain()) {
        host = std::string(domain.view());
    } else if (ip.is_v6()) {
        host = "[" + ip.to_string() + "]";
    } else {
        host = ip.to_string();
    }
    return host + ":" + std::to_string(port);
}

bool Target::operator==(const Target& o) const {
    if (kind != o.kind || port != o.port) {
        return false;
    }
    return is_domain() ? domain == o.domain : ip == o.ip;
}

}  // namespace tunless::proxy
