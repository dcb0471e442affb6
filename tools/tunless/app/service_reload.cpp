#include "tools/tunless/app/service_reload.hpp"

#include <algorithm>

#include "core/config/listener_diff.hpp"
#include "tools/log/log.hpp"

namespace tunless::app {
namespace {

void log_failure(const cfg::Config& next, const proxy::ListenerReloadFailure& f) {
    if (f.kept_previous) {
        log::error("{}:{}: reload: {} not updated: {}; it keeps running with its previous "
                   "settings",
                   next.file, f.delta.line, f.delta.id.to_string(), f.error.message);
    } else {
        log::error("{}:{}: reload: {} could not be opened: {}; it is not running (the rest of "
                   "the reload is applied; fix it and reload again)",
                   next.file, f.delta.line, f.delta.id.to_string(), f.error.message);
    }
}

// What runs for the failed sections: the previous section where the listener kept its old
// settings, none where it could not be opened (so the next reload sees it as new again).
void record_failures(const cfg::Config& prev, proxy::ListenerReloadFailures failures,
                     cfg::Config& in_effect) {
    for (const auto& f : failures) {
        if (f.kept_previous) {
            cfg::with_sections(f.delta.id.kind, [&](auto member) {
                (in_effect.*member)[f.delta.next_index] = (prev.*member)[f.delta.prev_index];
            });
        }
    }
    // Erase from the back, so earlier indices stay valid.
    std::sort(failures.begin(), failures.end(), [](const auto& a, const auto& b) {
        return a.delta.next_index > b.delta.next_index;
    });
    for (const auto& f : failures) {
        if (!f.kept_previous) {
            cfg::with_sections(f.delta.id.kind, [&](auto member) {
                auto& now = in_effect.*member;
                now.erase(now.begin() + static_cast<std::ptrdiff_t>(f.delta.next_index));
            });
        }
    }
}

ReloadOutcome reload_services(proxy::Services& tcp, proxy::UdpServices& udp,
                              const cfg::Config& prev, const cfg::Config& next,
                              cfg::Config& in_effect) {
    ReloadOutcome outcome = ReloadOutcome::kApplied;
    if (prev.resolve_strategy != next.resolve_strategy) {
        // The resolvers and the SOCKS5 UDP relay were built with the family preference.
        log::warn("reload: [Resolve] ResolveStrategy changed; restart tunless to apply it");
        in_effect.resolve_strategy = prev.resolve_strategy;
        outcome = ReloadOutcome::kNeedsRestart;
    }
    const cfg::ListenerDiff diff = cfg::diff_listeners(prev, next);
    if (diff.empty()) {
        return outcome;
    }
    log::info("reload: proxies and forwards: {} removed, {} changed, {} added, {} unchanged",
              diff.count(cfg::ListenerChange::kRemoved), diff.count(cfg::ListenerChange::kChanged),
              diff.count(cfg::ListenerChange::kAdded), diff.unchanged);
    proxy::ListenerReloadFailures failures = tcp.apply_reload(diff, next);
    proxy::ListenerReloadFailures udp_failures = udp.apply_reload(diff, next);
    failures.insert(failures.end(), udp_failures.begin(), udp_failures.end());
    for (const auto& f : failures) {
        log_failure(next, f);
    }
    record_failures(prev, std::move(failures), in_effect);
    return outcome;
}

}  // namespace

ReloadHandler service_reload_handler(proxy::Services& tcp, proxy::UdpServices& udp) {
    return [&tcp, &udp](const cfg::Config& prev, const cfg::Config& next, cfg::Config& in_effect) {
        return reload_services(tcp, udp, prev, next, in_effect);
    };
}

}  // namespace tunless::app
