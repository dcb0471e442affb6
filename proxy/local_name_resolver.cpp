#include "proxy/local_name_resolver.hpp"

namespace tunless::proxy {

LocalNameResolver::LocalNameResolver(io::EventLoop& loop, NameResolver& next, Lookup lookup)
    : loop_(loop), next_(next), lookup_(std::move(lookup)) {}

LocalNameResolver::~LocalNameResolver() { *alive_ = false; }

NameResolver::RequestId LocalNameResolver::resolve(std::string_view name, Callback cb) {
    std::optional<std::vector<IpAddress>> local = lookup_ ? lookup_(name) : std::nullopt;
    if (!local) return next_.resolve(name, std::move(cb));
    const RequestId id = kLocalBit | next_local_++;
    pending_.emplace(id, std::move(cb));
    ++local_answers_;
    loop_.post([this, alive = alive_, id, answer = std::move(*local)]() mutable {
        if (!*alive) return;
        auto it = pending_.find(id);
        if (it == pending_.end()) return;  // cancelled
        Callback done = std::move(it->second);
        pending_.erase(it);
        if (answer.empty()) {
            done(fail(Errc::kNotFound, "no such tailnet name"));
        } else {
            done(std::move(answer));
        }
    });
    return id;
}

void LocalNameResolver::cancel(RequestId id) {
    if ((id & kLocalBit) != 0) {
        pending_.erase(id);
    } else {
        next_.cancel(id);
    }
}

}  // namespace tunless::proxy
