#include "tests/support/fake_headscale.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace tunless::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

std::string read_line(int fd, std::chrono::milliseconds timeout) {
    std::string line;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char c = 0;
        if (::read(fd, &c, 1) != 1) break;
        if (c == '\n') return line;
        line.push_back(c);
    }
    return line;
}

std::uint16_t port_of(const std::string& host_port) {
    return static_cast<std::uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1)));
}

std::string string_member(const rapidjson::Document& doc, const char* name) {
    const auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return {};
    return {it->value.GetString(), it->value.GetStringLength()};
}

}  // namespace

std::string fake_headscale_missing_deps() {
    const std::string cmd =
        std::string(kPython) + " -c 'import h2, nacl, cryptography' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return {};
    return "/usr/bin/python3 lacks h2/nacl/cryptography (Debian python3-h2, python3-nacl, "
           "python3-cryptography)";
}

FakeHeadscale::FakeHeadscale(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<char*> argv;
    std::string script = TUNLESS_FAKE_HEADSCALE;
    argv.push_back(const_cast<char*>(kPython));
    argv.push_back(script.data());
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        ::dup2(out[1], 1);  // dup2 clears O_CLOEXEC on the copy
        const int err = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (err >= 0) ::dup2(err, 2);
        ::execv(kPython, argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    const std::string line = read_line(out[0], std::chrono::seconds(15));
    ::close(out[0]);
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    REQUIRE_MESSAGE((doc.IsObject() && string_member(doc, "event") == "ready"),
                    "no ready line from fake_headscale.py: '" << line << "' (log " << log_path
                                                              << ")");
    port_ = port_of(string_member(doc, "listen"));
    admin_port_ = port_of(string_member(doc, "admin"));
    ca_ = string_member(doc, "ca");
    hostname_ = string_member(doc, "hostname");
}

void FakeHeadscale::stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::pair<int, std::string> FakeHeadscale::admin(const std::string& method,
                                                 const std::string& path,
                                                 const std::string& body) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(admin_port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    const std::string req = method + " " + path + " HTTP/1.1\r\nHost: admin\r\n" +
                            "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    // The admin server closes after its answer (Connection: close), so read to EOF.
    std::string resp;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto head_end = resp.find("\r\n\r\n");
    REQUIRE_MESSAGE(head_end != std::string::npos, "admin " << method << " " << path
                                                            << ": no HTTP response");
    return {std::stoi(resp.substr(9, 3)), resp.substr(head_end + 4)};
}

}  // namespace tunless::test
