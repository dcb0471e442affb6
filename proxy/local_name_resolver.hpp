// LocalNameResolver: answers names the node knows itself (a tailnet's MagicDNS names from the
// netmap) before any DNS is asked, and passes every other name to the next resolver. A name
// inside the local domain that the table does not know is kNotFound at once: it must never
// leak to the host's or the mesh's DNS (a typo would otherwise be sent to a public resolver).
// Answers are posted to the loop, so callbacks never run inside resolve().
#pragma once

#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/base/ip_address.hpp"
#include "proxy/name_resolver.hpp"
#include "transports/event_loop.hpp"

namespace tunless::proxy {

class LocalNameResolver final : public NameResolver {
public:
    // nullopt: not a local name, ask `next`; an empty vector: local but unknown (kNotFound).
    using Lookup = std::function<std::optional<std::vector<IpAddress>>(std::string_view name)>;

    // `loop` and `next` must outlive the resolver.
    LocalNameResolver(io::EventLoop& loop, NameResolver& next, Lookup lookup);
    ~LocalNameResolver() override;
    LocalNameResolver(const LocalNameResolver&) = delete;
    LocalNameResolver& operator=(const LocalNameResolver&) = delete;

    RequestId resolve(std::string_view name, Callback cb) override;
    void cancel(RequestId id) override;

    std::uint64_t local_answers() const { return local_answers_; }

private:
    // Local ids have the top bit set so they never collide with `next`'s ids.
    static constexpr RequestId kLocalBit = RequestId{1} << 63;

    io::EventLoop& loop_;
    NameResolver& next_;
    Lookup lookup_;
    RequestId next_local_ = 1;
    std::unordered_map<RequestId, Callback> pending_;  // local answers not yet delivered
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::uint64_t local_answers_ = 0;
};

}  // namespace tunless::proxy
