// Request framing of the UAPI text protocol: what wg(8) sends, split and merged arbitrarily.
#include <doctest/doctest.h>

#include <string>

#include "core/uapi/uapi_protocol.hpp"

using namespace tunless;
using namespace tunless::uapi;
using Kind = Framed::Kind;

TEST_CASE("get=1 needs its blank line; bytes after it belong to the next request") {
    CHECK(take_request("get=1\n", false).kind == Kind::kIncomplete);
    CHECK(take_request("get=", false).kind == Kind::kIncomplete);
    Framed f = take_request("get=1\n\nget=1\n\n", false);
    REQUIRE(f.kind == Kind::kRequest);
    CHECK(f.request.op == Operation::kGet);
    CHECK(f.consumed == 7);
}

TEST_CASE("get=tunless is the extension operation") {
    Framed f = take_request("get=tunless\n\n", false);
    REQUIRE(f.kind == Kind::kRequest);
    CHECK(f.request.op == Operation::kGetTunless);
}

TEST_CASE("a get with a trailing character is EINVAL, like wireguard-go") {
    Framed f = take_request("get=1\nx\n", false);
    CHECK(f.kind == Kind::kReject);
    CHECK(f.failure.errno_value == kErrInvalid);
}

TEST_CASE("set=1 collects lines up to the blank line") {
    const std::string req =
        "set=1\nprivate_key=" + std::string(64, 'a') + "\nlisten_port=1\n\nget=1\n\n";
    Framed f = take_request(req, false);
    REQUIRE(f.kind == Kind::kRequest);
    CHECK(f.request.op == Operation::kSet);
    REQUIRE(f.request.lines.size() == 2);
    CHECK(f.request.lines[1] == "listen_port=1");
    CHECK(req.substr(f.consumed) == "get=1\n\n");
}

TEST_CASE("a set split at every byte is incomplete until the blank line arrives") {
    const std::string req = "set=1\nlisten_port=51820\nreplace_peers=true\n\n";
    for (std::size_t n = 0; n < req.size(); ++n) {
        CHECK(take_request(req.substr(0, n), false).kind == Kind::kIncomplete);
    }
    CHECK(take_request(req, false).kind == Kind::kRequest);
}

TEST_CASE("at EOF a set without its blank line is complete (wireguard-go's scanner)") {
    Framed f = take_request("set=1\nlisten_port=5\nfwmark=0", true);
    REQUIRE(f.kind == Kind::kRequest);
    REQUIRE(f.request.lines.size() == 2);
    CHECK(f.request.lines[1] == "fwmark=0");
}

TEST_CASE("EOF in the middle of an operation line closes quietly") {
    CHECK(take_request("get", true).kind == Kind::kClose);
    CHECK(take_request("", true).kind == Kind::kIncomplete);
    CHECK(take_request("get=1\n", true).kind == Kind::kClose);
}

TEST_CASE("an unknown operation closes without a reply") {
    CHECK(take_request("set=2\n\n", false).kind == Kind::kClose);
    CHECK(take_request("hello\n", false).kind == Kind::kClose);
    CHECK(take_request("\n", false).kind == Kind::kClose);
}

TEST_CASE("lines and requests are bounded") {
    const std::string long_line = "set=1\nprivate_key=" + std::string(kMaxLineBytes, 'a');
    CHECK(take_request(long_line, false).kind == Kind::kReject);
    CHECK(take_request(std::string(kMaxLineBytes + 1, 'g'), false).kind == Kind::kReject);
    std::string big = "set=1\n";
    while (big.size() <= kMaxRequestBytes) big += "allowed_ip=10.0.0.0/8\n";
    Framed f = take_request(big, false);
    CHECK(f.kind == Kind::kReject);
    CHECK(f.failure.errno_value == kErrInvalid);
}

TEST_CASE("reply_length finds the end of a reply") {
    CHECK(reply_length("errno=0\n") == 0);
    CHECK(reply_length("errno=0\n\n") == 9);
    CHECK(reply_length("listen_port=1\nerrno=0\n\nrest") == 23);
}
