#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "tools/log/syslog_writer.hpp"

using namespace tunless;

namespace {

// A stand-in syslog daemon: a datagram socket bound to a path in a fresh temporary directory.
struct FakeSyslogd {
    FakeSyslogd() {
        char tmpl[] = "/tmp/tunless-syslog-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        path = dir + "/log";
        bind_socket();
    }
    ~FakeSyslogd() {
        stop();
        ::rmdir(dir.c_str());
    }
    void bind_socket() {
        fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size());
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    }
    void stop() {
        if (fd >= 0) ::close(fd);
        fd = -1;
        ::unlink(path.c_str());
    }
    std::string receive() const {
        char buf[512];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        return n < 0 ? std::string("(nothing)") : std::string(buf, static_cast<std::size_t>(n));
    }
    std::string dir, path;
    int fd = -1;
};

std::string expected(int prio, std::string_view text) {
    return "<" + std::to_string(prio) + ">tunless[" + std::to_string(::getpid()) + "]: " +
           std::string(text);
}

}  // namespace

TEST_CASE("syslog datagram: <PRI>ident[pid]: text, no timestamp (the daemon adds it)") {
    CHECK(log::syslog_datagram(LOG_DAEMON | LOG_INFO, "tunless", 42, "INFO up") ==
          "<30>tunless[42]: INFO up");
    CHECK(log::syslog_datagram(LOG_DAEMON | LOG_ERR, "tunless", 7, "") == "<27>tunless[7]: ");
}

TEST_CASE("SyslogWriter delivers one datagram per line to the daemon's socket") {
    FakeSyslogd d;
    log::SyslogWriter w("tunless", d.path);
    CHECK(w.connected());
    CHECK(w.send(LOG_DAEMON | LOG_WARNING, "WARN disk: 100% full"));
    CHECK(w.send(LOG_DAEMON | LOG_DEBUG, "DEBUG second"));
    CHECK(d.receive() == expected(LOG_DAEMON | LOG_WARNING, "WARN disk: 100% full"));
    CHECK(d.receive() == expected(LOG_DAEMON | LOG_DEBUG, "DEBUG second"));
}

TEST_CASE("SyslogWriter waits for a daemon that starts late and follows one that restarts") {
    FakeSyslogd d;
    d.stop();
    log::SyslogWriter w("tunless", d.path);
    CHECK_FALSE(w.connected());
    CHECK_FALSE(w.send(LOG_DAEMON | LOG_INFO, "INFO lost"));  // nobody there: dropped

    d.bind_socket();  // the daemon starts
    CHECK(w.send(LOG_DAEMON | LOG_INFO, "INFO first"));
    CHECK(d.receive() == expected(LOG_DAEMON | LOG_INFO, "INFO first"));

    d.stop();  // and restarts: the old connection is dead (ECONNREFUSED), one reconnect
    d.bind_socket();
    CHECK(w.send(LOG_DAEMON | LOG_INFO, "INFO after restart"));
    CHECK(d.receive() == expected(LOG_DAEMON | LOG_INFO, "INFO after restart"));
}
