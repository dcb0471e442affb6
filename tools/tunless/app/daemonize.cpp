#include "tools/tunless/app/daemonize.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace tunless::app {
namespace {

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

// The foreground parent: waits for "0" (ready) or "1<message>" from the daemon.
[[noreturn]] void wait_for_daemon(int read_fd) {
    std::string msg;
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(read_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        msg.append(buf, static_cast<std::size_t>(n));
    }
    if (!msg.empty() && msg[0] == '0') ::_exit(0);
    const std::string text = msg.size() > 1 ? msg.substr(1) : "the daemon exited during start-up";
    std::fprintf(stderr, "tunless: %s\n", text.c_str());
    ::_exit(1);
}

void null_stdio() {
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) return;
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null_fd, fd);
    if (null_fd > STDERR_FILENO) ::close(null_fd);
}

}  // namespace

Result<int> daemonize() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0)
        return fail(Errc::kIo, std::string("pipe: ") + std::strerror(errno));
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t first = ::fork();
    if (first < 0) return fail(Errc::kIo, std::string("fork: ") + std::strerror(errno));
    if (first > 0) {
        ::close(p[1]);
        wait_for_daemon(p[0]);
    }
    ::close(p[0]);
    ::setsid();  // no controlling terminal; the second fork makes sure we never get one back
    const pid_t second = ::fork();
    if (second < 0) {
        report_failure(p[1], std::string("fork: ") + std::strerror(errno));
        ::_exit(1);
    }
    if (second > 0) ::_exit(0);
    if (::chdir("/") != 0) {
        // Not fatal: "/" always exists; keep the current directory.
    }
    null_stdio();
    return p[1];
}

void report_ready(int fd) {
    if (fd < 0) return;
    write_all(fd, "0");
    ::close(fd);
}

void report_failure(int fd, std::string_view message) {
    if (fd < 0) return;
    write_all(fd, "1");
    write_all(fd, message);
    ::close(fd);
}

Result<PidFile> PidFile::create(const std::string& path) {
    io::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return fail(Errc::kIo, "pidfile " + path + ": " + std::strerror(errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {};
        const ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
        std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        return fail(Errc::kAlreadyExists,
                    "pidfile " + path + " is held by a running tunless (pid " + pid + ")");
    }
    const std::string text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0 ||
        ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        return fail(Errc::kIo, "pidfile " + path + ": " + std::strerror(errno));
    }
    PidFile out;
    out.path_ = path;
    out.fd_ = std::move(fd);
    return out;
}

PidFile::~PidFile() {
    if (fd_) ::unlink(path_.c_str());
}

}  // namespace tunless::app
