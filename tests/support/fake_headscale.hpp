// tests/tailnet/fake_headscale.py (control server + DERP, written from the upstream Go sources
// independently of core/tailnet) as a child process of a test: started with the caller's
// options, ready once it prints its JSON ready line, stopped by PID. Runs with Debian's
// /usr/bin/python3, which needs python3-h2, python3-nacl and python3-cryptography.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tunless::test {

// Empty when the fake can run here; otherwise why not (the tests skip with this message).
std::string fake_headscale_missing_deps();

class FakeHeadscale {
public:
    // Runs fake_headscale.py with `args`; stderr goes to `log_path`. Fails the test (REQUIRE)
    // unless a ready line arrives within 15 s.
    FakeHeadscale(const std::vector<std::string>& args, const std::string& log_path);
    ~FakeHeadscale() { stop(SIGTERM); }
    FakeHeadscale(const FakeHeadscale&) = delete;
    FakeHeadscale& operator=(const FakeHeadscale&) = delete;

    // Ends the process with `sig` and reaps it (SIGKILL for "the server died").
    void stop(int sig);

    std::uint16_t port() const { return port_; }
    std::uint16_t admin_port() const { return admin_port_; }
    const std::string& ca() const { return ca_; }  // empty without --tls
    const std::string& hostname() const { return hostname_; }

    // One blocking HTTP/1.1 request to the admin API on loopback: {status, body}.
    std::pair<int, std::string> admin(const std::string& method, const std::string& path,
                                      const std::string& body = "") const;

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::uint16_t admin_port_ = 0;
    std::string ca_;
    std::string hostname_;
};

}  // namespace tunless::test
