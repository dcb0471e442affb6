// app::Node: the running tunless node — event loop, UDP transport, WireGuard device, lwIP stack
// and data path, composed from a validated config. Services on top (proxies, forwards, the
// control socket) get non-owning references through the accessors; the Node outlives them.
// Members are declared in construction order, so destruction runs in reverse.
#pragma once

#include <memory>
#include <vector>

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/config/config.hpp"
#include "core/wg/device.hpp"
#include "netstack/stack.hpp"
#include "tools/tunless/app/daemon.hpp"
#include "tools/tunless/app/data_path.hpp"
#include "tools/tunless/app/endpoint_refresh.hpp"
#include "tools/tunless/app/service_hooks.hpp"
#include "tools/tunless/app/timestamp_store.hpp"
#include "transports/clock.hpp"
#include "transports/event_loop.hpp"
#include "transports/netlink_monitor.hpp"
#include "transports/udp_transport.hpp"

namespace tunless::app {

class TailnetNode;

class Node {
public:
    explicit Node(const Options& options);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Builds everything from `config` (opens the UDP port, brings lwIP up, adds peers).
    Status start(const cfg::Config& config);
    // Runs the loop until SIGINT/SIGTERM; logs the counters on the way out.
    Status run();

    io::EventLoop& loop() { return *loop_; }
    wg::Device& device() { return device_; }
    net::Stack& stack() { return *stack_; }
    DataPath& data_path() { return *path_; }
    io::UdpTransport& udp() { return *udp_; }
    const Options& options() const { return options_; }
    const cfg::Config& config() const { return config_; }
    Rng& rng() { return rng_; }
    // Counter and reload hooks of the services (control socket, SIGHUP).
    ServiceHooks& hooks() { return hooks_; }
    // After a successful reload: the config now in effect.
    void set_config(const cfg::Config& config);

#ifdef TUNLESS_TAILNET
    // The tailnet membership ([Tailnet]); nullptr for a plain WireGuard node.
    TailnetNode* tailnet() { return tailnet_.get(); }
#endif

    // Counter lines for the log (SIGUSR1, shutdown).
    void log_status();

private:
    void report_event(const wg::Event& e);
    // Resilience (docs/reliability.md): timestamp floor, endpoint re-resolution, netlink.
    void start_resilience();
    void on_network_change();

    Options options_;
    cfg::Config config_;
    SystemRng rng_;
    io::SystemWallClock wall_;
    OffsetWallClock shifted_wall_{wall_, test_wall_offset_from_env()};  // offset 0 unless testing
    std::unique_ptr<io::EventLoop> loop_;
    wg::Device device_;
    std::unique_ptr<io::UdpTransport> udp_;
    std::unique_ptr<DataPath> path_;
    std::unique_ptr<net::Stack> stack_;
    std::vector<wg::PeerId> startup_peers_;
    ServiceHooks hooks_;
    std::unique_ptr<TimestampGuard> timestamps_;
    std::unique_ptr<EndpointRefresher> refresher_;
    std::unique_ptr<io::NetlinkMonitor> netlink_;
#ifdef TUNLESS_TAILNET
    std::unique_ptr<TailnetNode> tailnet_;  // uses everything above: destroyed first
#endif
};

}  // namespace tunless::app
