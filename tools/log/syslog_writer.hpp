// The syslog client behind log::use_syslog: one datagram per log line to the local syslog
// daemon's socket (/dev/log), in the form glibc's syslog(3) sends, "<PRI>ident[pid]: text",
// but without its "Mmm dd hh:mm:ss " timestamp. The daemon stamps a message that carries none
// with the time it receives it (RFC 3164 §4.3.2; busybox syslogd timestamp_and_log, systemd
// journald syslog_skip_date and rsyslog accept both forms); on a local socket that is the
// same second. Not syslog(3): its timestamp comes from localtime_r/strftime, which link glibc's
// time zone code (tzset, tzfile, sscanf, strtod; ~61 KB of the static armhf binary,
// docs/embedded.md). Single-threaded, like the log it serves.
#pragma once

#include <string>
#include <string_view>

namespace tunless::log {

// "<priority>ident[pid]: text"; priority = facility | severity (LOG_DAEMON | LOG_INFO ...).
std::string syslog_datagram(int priority, std::string_view ident, long pid, std::string_view text);

class SyslogWriter {
public:
    // Connects at once (glibc's LOG_NDELAY) when the daemon is there; otherwise at each send
    // until it is. `path` is the daemon's socket (tests pass their own).
    explicit SyslogWriter(std::string ident, std::string path = "/dev/log");
    ~SyslogWriter();
    SyslogWriter(const SyslogWriter&) = delete;
    SyslogWriter& operator=(const SyslogWriter&) = delete;

    // Sends one message with the current pid. When the send fails (the daemon restarted), it
    // reconnects and tries once more, as glibc does. False if the line could not be delivered.
    bool send(int priority, std::string_view text);
    bool connected() const { return fd_ >= 0; }

private:
    bool connect();
    void disconnect();

    std::string ident_;
    std::string path_;
    int fd_ = -1;
    bool stream_ = false;  // a SOCK_STREAM /dev/log (some syslog-ng setups): NUL-terminated
};

}  // namespace tunless::log
