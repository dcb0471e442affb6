// parse_set: every key wg(8) sends, and wireguard-go's errno for every kind of bad line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/uapi/uapi_protocol.hpp"

using namespace tunless;
using namespace tunless::uapi;

namespace {

const std::string kHexA(64, 'a');
const std::string kHexB = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";

SetParse parse(std::vector<std::string> lines) { return parse_set(lines); }

int errno_of(std::vector<std::string> lines) {
    SetParse p = parse(std::move(lines));
    return p.failure ? p.failure->errno_value : 0;
}

}  // namespace

TEST_CASE("device keys: private_key, listen_port, fwmark, replace_peers") {
    SetParse p =
        parse({"private_key=" + kHexA, "listen_port=51820", "fwmark=0", "replace_peers=true"});
    REQUIRE_FALSE(p.failure);
    REQUIRE(p.ops.size() == 4);
    const auto* pk = std::get_if<op::PrivateKey>(&p.ops[0]);
    REQUIRE(pk);
    CHECK(pk->key.data()[0] == 0xaa);
    CHECK(std::get<op::ListenPort>(p.ops[1]).port == 51820);
    CHECK(std::get<op::Fwmark>(p.ops[2]).mark == 0);
    CHECK(std::holds_alternative<op::ReplacePeers>(p.ops[3]));
}

TEST_CASE("a zero private key parses (wireguard-go's FromMaybeZeroHex)") {
    SetParse p = parse({"private_key=" + std::string(64, '0')});
    REQUIRE_FALSE(p.failure);
    CHECK(std::get<op::PrivateKey>(p.ops[0]).key.is_zero());
}

TEST_CASE("peer keys: everything wg set / wg setconf sends") {
    SetParse p =
        parse({"public_key=" + kHexB, "update_only=true", "remove=true", "preshared_key=" + kHexA,
               "endpoint=[fd00::1]:51820", "endpoint=192.168.1.2:7",
               "persistent_keepalive_interval=25", "replace_allowed_ips=true",
               "allowed_ip=10.1.2.3/24", "allowed_ip=fd00::/64", "protocol_version=1"});
    REQUIRE_FALSE(p.failure);
    REQUIRE(p.ops.size() == 11);
    CHECK(std::get<op::Peer>(p.ops[0]).key.bytes[0] == 0x01);
    CHECK(std::get<op::Peer>(p.ops[0]).key.bytes[5] == 0xab);  // either case of hex digits
    CHECK(std::holds_alternative<op::UpdateOnly>(p.ops[1]));
    CHECK(std::holds_alternative<op::Remove>(p.ops[2]));
    CHECK(std::get<op::PresharedKey>(p.ops[3]).key.data()[31] == 0xaa);
    CHECK(std::get<op::SetEndpoint>(p.ops[4]).endpoint.to_string() == "[fd00::1]:51820");
    CHECK(std::get<op::SetEndpoint>(p.ops[5]).endpoint.port == 7);
    CHECK(std::get<op::Keepalive>(p.ops[6]).seconds == 25);
    CHECK(std::holds_alternative<op::ReplaceAllowedIps>(p.ops[7]));
    CHECK(std::get<op::AllowedIp>(p.ops[8]).prefix.to_string() == "10.1.2.0/24");
    CHECK(std::get<op::AllowedIp>(p.ops[9]).prefix.to_string() == "fd00::/64");
    CHECK(std::holds_alternative<op::ProtocolVersion>(p.ops[10]));
}

TEST_CASE("several peers in one request") {
    SetParse p = parse(
        {"public_key=" + kHexA, "allowed_ip=10.0.0.1/32", "public_key=" + kHexB, "remove=true"});
    REQUIRE_FALSE(p.failure);
    REQUIRE(p.ops.size() == 4);
    CHECK(std::holds_alternative<op::Peer>(p.ops[2]));
}

TEST_CASE("an empty set is valid") {
    SetParse p = parse({});
    CHECK_FALSE(p.failure);
    CHECK(p.ops.empty());
}

TEST_CASE("a line without '=' is EPROTO") {
    CHECK(errno_of({"listen_port"}) == kErrProtocol);
    CHECK(errno_of({"public_key=" + kHexA, "remove"}) == kErrProtocol);
}

TEST_CASE("bad values are EINVAL") {
    CHECK(errno_of({"private_key=" + kHexA.substr(1)}) == kErrInvalid);
    CHECK(errno_of({"private_key=" + kHexA + "a"}) == kErrInvalid);
    CHECK(errno_of({"private_key=" + std::string(63, 'a') + "g"}) == kErrInvalid);
    CHECK(errno_of({"listen_port=65536"}) == kErrInvalid);
    CHECK(errno_of({"listen_port=-1"}) == kErrInvalid);
    CHECK(errno_of({"listen_port=+1"}) == kErrInvalid);
    CHECK(errno_of({"listen_port="}) == kErrInvalid);
    CHECK(errno_of({"listen_port= 1"}) == kErrInvalid);
    CHECK(errno_of({"fwmark=4294967296"}) == kErrInvalid);
    CHECK(errno_of({"replace_peers=false"}) == kErrInvalid);
    CHECK(errno_of({"public_key=xyz"}) == kErrInvalid);
    const std::string peer = "public_key=" + kHexA;
    CHECK(errno_of({peer, "remove=1"}) == kErrInvalid);
    CHECK(errno_of({peer, "update_only=yes"}) == kErrInvalid);
    CHECK(errno_of({peer, "replace_allowed_ips=TRUE"}) == kErrInvalid);
    CHECK(errno_of({peer, "preshared_key=00"}) == kErrInvalid);
    CHECK(errno_of({peer, "endpoint=example.com:51820"}) == kErrInvalid);
    CHECK(errno_of({peer, "endpoint=10.0.0.1"}) == kErrInvalid);
    CHECK(errno_of({peer, "persistent_keepalive_interval=65536"}) == kErrInvalid);
    CHECK(errno_of({peer, "allowed_ip=10.0.0.1"}) == kErrInvalid);  // "/bits" is mandatory
    CHECK(errno_of({peer, "allowed_ip=10.0.0.0/33"}) == kErrInvalid);
    CHECK(errno_of({peer, "protocol_version=2"}) == kErrInvalid);
}

TEST_CASE("unknown keys are EINVAL, in either section") {
    CHECK(errno_of({"bogus=1"}) == kErrInvalid);
    CHECK(errno_of({"public_key=" + kHexA, "bogus=1"}) == kErrInvalid);
    // Device keys are not valid once a peer section started (wireguard-go's deviceConfig).
    CHECK(errno_of({"public_key=" + kHexA, "listen_port=1"}) == kErrInvalid);
    CHECK(errno_of({"public_key=" + kHexA, "private_key=" + kHexA}) == kErrInvalid);
}

TEST_CASE("operations before the bad line are kept, those after it are not") {
    SetParse p = parse(
        {"listen_port=1", "public_key=" + kHexA, "allowed_ip=nonsense", "allowed_ip=10.0.0.0/8"});
    REQUIRE(p.failure);
    CHECK(p.failure->errno_value == kErrInvalid);
    CHECK(p.ops.size() == 2);
}

TEST_CASE("error messages never echo key material") {
    const std::string secret = std::string(63, '7') + "z";
    SetParse p = parse({"private_key=" + secret});
    REQUIRE(p.failure);
    CHECK(p.failure->message.find("777") == std::string::npos);
    p = parse({"public_key=" + kHexA, "preshared_key=" + secret});
    REQUIRE(p.failure);
    CHECK(p.failure->message.find("777") == std::string::npos);
}
