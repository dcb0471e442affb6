// app::ServiceHooks: how services on top of the Node (SOCKS5/HTTP proxies, forwards) take part
// in operations without the control socket or the reloader knowing them: they contribute
// counter lines to `get=tunless` (`tunless status`) and may apply their config sections on
// SIGHUP. Owned by the Node (Node::hooks()); register once at start-up; single-threaded.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "core/config/config.hpp"
#include "core/uapi/uapi_protocol.hpp"

namespace tunless::app {

// Appends ("<service>.<counter>", "value") pairs, e.g. ("socks5.connections_active", "3").
// Keys: lowercase, dotted, no '=' or whitespace; values: no newline.
using CounterSource = std::function<void(uapi::KeyValues& out)>;

enum class ReloadOutcome {
    kApplied,       // the service brought its sections in line with `next` (or nothing changed)
    kNeedsRestart,  // it cannot; the reloader logs that a restart is needed for them
};
// Called on SIGHUP after the WireGuard part of the reload succeeded, with the config that ran
// so far (`previous`), the new file (`next`), and what will be recorded as running from now on
// (`in_effect`: `next` with restart-only settings put back). A handler that could not apply
// some of its sections writes into `in_effect` what really runs for them, so the next reload
// compares against the truth and tries again. Must not block.
using ReloadHandler = std::function<ReloadOutcome(
    const cfg::Config& previous, const cfg::Config& next, cfg::Config& in_effect)>;

class ServiceHooks {
public:
    void add_counters(CounterSource source) { counters_.push_back(std::move(source)); }
    void add_reload_handler(ReloadHandler handler) { reloaders_.push_back(std::move(handler)); }

    void append_counters(uapi::KeyValues& out) const {
        for (const auto& c : counters_) c(out);
    }
    bool has_reload_handlers() const { return !reloaders_.empty(); }
    // kNeedsRestart if any handler says so.
    ReloadOutcome reload(const cfg::Config& previous, const cfg::Config& next,
                         cfg::Config& in_effect) const {
        ReloadOutcome out = ReloadOutcome::kApplied;
        for (const auto& r : reloaders_) {
            if (r(previous, next, in_effect) == ReloadOutcome::kNeedsRestart)
                out = ReloadOutcome::kNeedsRestart;
        }
        return out;
    }

private:
    std::vector<CounterSource> counters_;
    std::vector<ReloadHandler> reloaders_;
};

}  // namespace tunless::app
