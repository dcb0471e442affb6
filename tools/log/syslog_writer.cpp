#include "tools/log/syslog_writer.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace tunless::log {

std::string syslog_datagram(int priority, std::string_view ident, long pid, std::string_view text) {
    return fmt::format("<{}>{}[{}]: {}", priority, ident, pid, text);
}

SyslogWriter::SyslogWriter(std::string ident, std::string path)
    : ident_(std::move(ident)), path_(std::move(path)) {
    connect();
}

SyslogWriter::~SyslogWriter() { disconnect(); }

bool SyslogWriter::connect() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) {
        return false;
    }
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    // Datagrams first; a stream socket only when the daemon listens on one (EPROTOTYPE), the
    // order of glibc's openlog_internal (misc/syslog.c).
    for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
        const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return false;
        }
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
            fd_ = fd;
            stream_ = type == SOCK_STREAM;
            return true;
        }
        const int err = errno;
        ::close(fd);
        if (err != EPROTOTYPE) {
            return false;
        }
    }
    return false;
}

void SyslogWriter::disconnect() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool SyslogWriter::send(int priority, std::string_view text) {
    const std::string msg = syslog_datagram(priority, ident_, static_cast<long>(::getpid()), text);
    auto send_once = [&] {
        if (fd_ < 0 && !connect()) {
            return false;
        }
        // A stream daemon splits messages at the NUL, as glibc sends them.
        const std::size_t len = msg.size() + (stream_ ? 1 : 0);
        ssize_t n;
        do {
            n = ::send(fd_, msg.c_str(), len, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        return n == static_cast<ssize_t>(len);
    };
    const bool was_connected = fd_ >= 0;
    if (send_once()) {
        return true;
    }
    if (!was_connected) {
        return false;  // no daemon yet: try again with the next line
    }
    disconnect();  // the daemon went away (restart, ECONNREFUSED): a fresh socket, once
    return send_once();
}

}  // namespace tunless::log
