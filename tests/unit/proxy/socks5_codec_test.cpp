// SOCKS5 codec: RFC 1928 greeting/request/reply/UDP header and RFC 1929 subnegotiation.
#include <doctest/doctest.h>

#include "proxy/credentials.hpp"
#include "proxy/socks5_codec.hpp"
#include "tests/unit/proxy/codec_test_util.hpp"

using namespace tunless;
using namespace tunless::proxy;
using namespace tunless::proxy::socks5;
using tunless::proxy::test::bytes;
using tunless::proxy::test::cat;
using tunless::proxy::test::parse_every_prefix;
using tunless::proxy::test::text;
using tunless::proxy::test::to_bytes;

namespace {

auto greeting_of(ByteView in) { return parse_every_prefix(parse_greeting, in); }
auto auth_of(ByteView in) { return parse_every_prefix(parse_auth_request, in); }
auto request_of(ByteView in) { return parse_every_prefix(parse_request, in); }

Bytes ipv6_bytes() {
    return bytes({0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34});
}

}  // namespace

TEST_CASE("greeting: methods are parsed and the acceptable one is selected") {
    SUBCASE("no-auth only") {
        const Bytes in = bytes({5, 1, 0});
        auto r = greeting_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == 3);
        CHECK(r.value.offers(Method::kNoAuth));
        CHECK_FALSE(r.value.offers(Method::kUserPass));
        CHECK(select_method(r.value, false) == Method::kNoAuth);
        CHECK(select_method(r.value, true) == Method::kNoAcceptable);
    }
    SUBCASE("no-auth and username/password, as curl sends with a proxy user") {
        const Bytes in = bytes({5, 2, 0, 2});
        auto r = greeting_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == 4);
        CHECK(select_method(r.value, false) == Method::kNoAuth);
        CHECK(select_method(r.value, true) == Method::kUserPass);
    }
    SUBCASE("username/password only, no credentials configured") {
        auto r = greeting_of(bytes({5, 1, 2}));
        REQUIRE(r.done());
        CHECK(select_method(r.value, false) == Method::kNoAcceptable);
    }
    SUBCASE("NMETHODS 0 offers nothing, so the answer is 0xFF") {
        auto r = greeting_of(bytes({5, 0}));
        REQUIRE(r.done());
        CHECK(r.consumed == 2);
        CHECK(select_method(r.value, false) == Method::kNoAcceptable);
        CHECK(select_method(r.value, true) == Method::kNoAcceptable);
    }
    SUBCASE("all 255 methods, high ones included") {
        Bytes in = bytes({5, 255});
        for (int m = 0; m < 255; ++m) {
            in.push_back(static_cast<std::uint8_t>(m));
        }
        auto r = greeting_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == kMaxGreetingSize);
        CHECK(r.value.offers(Method::kGssapi));
        CHECK(r.value.offers(static_cast<Method>(0xFE)));
        CHECK_FALSE(r.value.offers(Method::kNoAcceptable));
    }
    SUBCASE("bytes after the greeting belong to the next phase") {
        const Bytes in = bytes({5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80});
        auto r = greeting_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == 3);
    }
}

TEST_CASE("greeting: anything but version 5 is rejected on the first byte") {
    SUBCASE("SOCKS4 CONNECT") {
        auto r = greeting_of(bytes({4, 1, 0, 80, 10, 0, 0, 1, 0}));
        CHECK(r.failed());
        CHECK(r.fault == Fault::kBadVersion);
        CHECK(parse_greeting(bytes({4})).failed());
    }
    SUBCASE("HTTP on the SOCKS port") {
        auto r = greeting_of(bytes("CONNECT example.com:443 HTTP/1.1\r\n\r\n"));
        CHECK(r.fault == Fault::kBadVersion);
    }
    CHECK(parse_greeting({}).need_more());
}

TEST_CASE("method selection and auth status serialize to RFC bytes") {
    CHECK(build_method_selection(Method::kNoAuth) == std::array<std::uint8_t, 2>{5, 0x00});
    CHECK(build_method_selection(Method::kUserPass) == std::array<std::uint8_t, 2>{5, 0x02});
    CHECK(build_method_selection(Method::kNoAcceptable) == std::array<std::uint8_t, 2>{5, 0xFF});
    CHECK(build_auth_status(true) == std::array<std::uint8_t, 2>{1, 0x00});
    CHECK(build_auth_status(false) == std::array<std::uint8_t, 2>{1, 0x01});
}

TEST_CASE("RFC 1929 username/password request") {
    auto creds = Credentials::create("alice", "s3cret");
    REQUIRE(creds);

    SUBCASE("correct credentials") {
        const Bytes in = cat(bytes({1, 5}), cat(bytes("alice"), cat(bytes({6}), bytes("s3cret"))));
        auto r = auth_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == in.size());
        CHECK(text(r.value.username) == "alice");
        CHECK(text(r.value.password) == "s3cret");
        CHECK(creds->matches(r.value.username, r.value.password));
    }
    SUBCASE("wrong password, wrong user, prefix of the password") {
        CHECK_FALSE(creds->matches(bytes("alice"), bytes("s3creT")));
        CHECK_FALSE(creds->matches(bytes("alicE"), bytes("s3cret")));
        CHECK_FALSE(creds->matches(bytes("alice"), bytes("s3cre")));
        CHECK_FALSE(creds->matches(bytes("alice"), bytes("s3cret ")));
    }
    SUBCASE("ULEN and PLEN 0 parse (curl sends PLEN 0) and fail the check") {
        const Bytes no_password = bytes({1, 5, 'a', 'l', 'i', 'c', 'e', 0});
        auto r = auth_of(no_password);
        REQUIRE(r.done());
        CHECK(r.value.password.empty());
        CHECK_FALSE(creds->matches(r.value.username, r.value.password));
        const Bytes nothing = bytes({1, 0, 0});
        auto empty = auth_of(nothing);
        REQUIRE(empty.done());
        CHECK(empty.consumed == 3);
        CHECK_FALSE(creds->matches(empty.value.username, empty.value.password));
    }
    SUBCASE("255-byte fields") {
        const std::string user(255, 'u');
        const std::string pass(255, 'p');
        auto long_creds = Credentials::create(user, pass);
        REQUIRE(long_creds);
        Bytes in = cat(bytes({1, 255}), cat(bytes(user), cat(bytes({255}), bytes(pass))));
        in.push_back(0x05);  // the request that follows is not consumed
        auto r = auth_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == kMaxAuthRequestSize);
        CHECK(long_creds->matches(r.value.username, r.value.password));
    }
    SUBCASE("wrong subnegotiation version") {
        auto r = auth_of(bytes({5, 1, 2}));
        CHECK(r.fault == Fault::kBadAuthVersion);
    }
}

TEST_CASE("credentials: configuration limits") {
    CHECK(Credentials::create("u", "p"));
    CHECK_FALSE(Credentials::create("", "p"));
    CHECK_FALSE(Credentials::create("u", ""));
    CHECK_FALSE(Credentials::create(std::string(256, 'u'), "p"));
    CHECK_FALSE(Credentials::create("u", std::string(256, 'p')));
    CHECK_FALSE(Credentials::create("a:b", "p"));
    auto c = Credentials::create("user", "pa:ss");
    REQUIRE(c);
    CHECK(c->matches_user_pass(bytes("user:pa:ss")));  // split at the first colon
    CHECK_FALSE(c->matches_user_pass(bytes("userpa:ss")));
    CHECK_FALSE(c->matches_user_pass(bytes("user")));
    CHECK_FALSE(c->matches_user_pass({}));
}

TEST_CASE("request: CONNECT to IPv4, domain and IPv6 destinations") {
    SUBCASE("IPv4") {
        const Bytes in = bytes({5, 1, 0, 1, 10, 0, 0, 1, 0, 80});
        auto r = request_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == in.size());
        CHECK(r.value.command == Command::kConnect);
        CHECK(r.value.target == Target::from_ip(*IpAddress::parse("10.0.0.1"), 80));
    }
    SUBCASE("domain, as curl --socks5-hostname sends") {
        const Bytes in = cat(cat(bytes({5, 1, 0, 3, 11}), bytes("example.com")), bytes({1, 187}));
        auto r = request_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == in.size());
        REQUIRE(r.value.target.is_domain());
        CHECK(r.value.target.domain.view() == "example.com");
        CHECK(r.value.target.port == 443);
        CHECK(r.value.target.to_string() == "example.com:443");
    }
    SUBCASE("IPv6 with data after the request") {
        const Bytes in = cat(cat(bytes({5, 1, 0, 4}), ipv6_bytes()), bytes({0x1f, 0x90, 'x'}));
        auto r = request_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == in.size() - 1);
        CHECK(r.value.target.to_string() == "[fd00::1234]:8080");
    }
    SUBCASE("255-byte domain") {
        const std::string name(255, 'a');
        const Bytes in = cat(cat(bytes({5, 1, 0, 3, 255}), bytes(name)), bytes({0, 22}));
        auto r = request_of(in);
        REQUIRE(r.done());
        CHECK(r.consumed == kMaxRequestSize);
        CHECK(r.value.target.domain.view() == name);
    }
    SUBCASE("BIND and UDP ASSOCIATE parse; support is the server's decision") {
        auto bind = request_of(bytes({5, 2, 0, 1, 0, 0, 0, 0, 0, 0}));
        REQUIRE(bind.done());
        CHECK(bind.value.command == Command::kBind);
        auto udp = request_of(bytes({5, 3, 0, 1, 0, 0, 0, 0, 0, 0}));
        REQUIRE(udp.done());
        CHECK(udp.value.command == Command::kUdpAssociate);
        CHECK(udp.value.target == Target::from_ip(IpAddress{}, 0));
    }
}

TEST_CASE("request: each error class maps to its RFC 1928 reply code") {
    struct Case {
        const char* name;
        Bytes in;
        Fault fault;
        Reply reply;
    };
    const Case cases[] = {
        {"version 4", bytes({4, 1, 0, 1, 10, 0, 0, 1, 0, 80}), Fault::kBadRequestVersion,
         Reply::kGeneralFailure},
        {"command 0", bytes({5, 0, 0, 1, 10, 0, 0, 1, 0, 80}), Fault::kBadCommand,
         Reply::kCommandNotSupported},
        {"command 4", bytes({5, 4, 0, 1, 10, 0, 0, 1, 0, 80}), Fault::kBadCommand,
         Reply::kCommandNotSupported},
        {"command 0xff", bytes({5, 0xff}), Fault::kBadCommand, Reply::kCommandNotSupported},
        {"reserved 1", bytes({5, 1, 1, 1, 10, 0, 0, 1, 0, 80}), Fault::kBadReserved,
         Reply::kGeneralFailure},
        {"address type 0", bytes({5, 1, 0, 0, 10, 0, 0, 1, 0, 80}), Fault::kBadAddressType,
         Reply::kAddressTypeNotSupported},
        {"address type 2", bytes({5, 1, 0, 2}), Fault::kBadAddressType,
         Reply::kAddressTypeNotSupported},
        {"address type 5", bytes({5, 1, 0, 5}), Fault::kBadAddressType,
         Reply::kAddressTypeNotSupported},
        {"empty domain", bytes({5, 1, 0, 3, 0, 0, 80}), Fault::kBadDomain,
         Reply::kGeneralFailure},
        {"NUL in domain", bytes({5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80}), Fault::kBadDomain,
         Reply::kGeneralFailure},
        {"space in domain", bytes({5, 1, 0, 3, 3, 'a', ' ', 'b', 0, 80}), Fault::kBadDomain,
         Reply::kGeneralFailure},
        {"DEL in domain", bytes({5, 1, 0, 3, 1, 0x7f, 0, 80}), Fault::kBadDomain,
         Reply::kGeneralFailure},
        {"UTF-8 in domain", bytes({5, 1, 0, 3, 2, 0xc3, 0xa9, 0, 80}), Fault::kBadDomain,
         Reply::kGeneralFailure},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        auto r = request_of(c.in);
        REQUIRE(r.failed());
        CHECK(r.fault == c.fault);
        CHECK(reply_for(r.fault) == c.reply);
        const auto reply = build_failure_reply(reply_for(r.fault));
        CHECK(to_bytes(reply.view()) ==
              bytes({5, static_cast<int>(c.reply), 0, 1, 0, 0, 0, 0, 0, 0}));
    }
}

TEST_CASE("request: a bad domain byte fails before the rest of the name arrives") {
    // Length 200 announced, the second name byte is a control character.
    const Bytes in = bytes({5, 1, 0, 3, 200, 'a', '\n'});
    auto r = parse_request(in);
    CHECK(r.failed());
    CHECK(r.fault == Fault::kBadDomain);
    CHECK(parse_request(ByteView(in).first(6)).need_more());
}

TEST_CASE("reply: BND.ADDR as IPv4, IPv6 and domain, and all REP values") {
    auto v4 = build_reply(Reply::kSucceeded, Target::from_ip(*IpAddress::parse("10.0.0.1"), 1080));
    CHECK(to_bytes(v4.view()) == bytes({5, 0, 0, 1, 10, 0, 0, 1, 0x04, 0x38}));

    auto v6 = build_reply(Reply::kSucceeded, Target::from_ip(*IpAddress::parse("fd00::1234"), 8080));
    CHECK(to_bytes(v6.view()) == cat(cat(bytes({5, 0, 0, 4}), ipv6_bytes()), bytes({0x1f, 0x90})));

    auto name = build_reply(Reply::kSucceeded,
                            Target::from_domain(*DomainName::parse("peer.mesh"), 443));
    CHECK(to_bytes(name.view()) == cat(cat(bytes({5, 0, 0, 3, 9}), bytes("peer.mesh")), bytes({1, 187})));

    const std::string longest(255, 'z');
    auto big = build_reply(Reply::kSucceeded, Target::from_domain(*DomainName::parse(longest), 1));
    CHECK(big.size() == kMaxReplySize);

    const Reply all[] = {Reply::kSucceeded,          Reply::kGeneralFailure,
                         Reply::kNotAllowed,         Reply::kNetworkUnreachable,
                         Reply::kHostUnreachable,    Reply::kConnectionRefused,
                         Reply::kTtlExpired,         Reply::kCommandNotSupported,
                         Reply::kAddressTypeNotSupported};
    for (int code = 0; code <= 8; ++code) {
        auto r = build_failure_reply(all[code]);
        CHECK(to_bytes(r.view()) == bytes({5, code, 0, 1, 0, 0, 0, 0, 0, 0}));
    }
}

TEST_CASE("UDP ASSOCIATE datagram header round trip (RFC 1928 §7)") {
    const Target targets[] = {
        Target::from_ip(*IpAddress::parse("192.0.2.7"), 53),
        Target::from_ip(*IpAddress::parse("2001:db8::53"), 5353),
        Target::from_domain(*DomainName::parse("dns.example"), 53),
    };
    const Bytes payload = bytes("query bytes");
    for (const Target& t : targets) {
        const std::string name = t.to_string();
        CAPTURE(name);
        const auto header = build_udp_header(t);
        CHECK(header.view()[0] == 0);
        CHECK(header.view()[1] == 0);
        CHECK(header.view()[2] == 0);
        const Bytes datagram = cat(to_bytes(header.view()), payload);
        auto r = parse_udp_datagram(datagram);
        REQUIRE(r.done());
        CHECK(r.consumed == header.size());
        CHECK(r.value.target == t);
        CHECK(to_bytes(r.value.payload) == payload);

        for (std::size_t k = 0; k < header.size(); ++k) {
            CAPTURE(k);
            auto cut = parse_udp_datagram(ByteView(datagram).first(k));
            CHECK(cut.failed());
            CHECK(cut.fault == Fault::kTruncated);
        }
    }
    SUBCASE("exact bytes for IPv4 and an empty payload") {
        auto h = build_udp_header(targets[0]);
        CHECK(to_bytes(h.view()) == bytes({0, 0, 0, 1, 192, 0, 2, 7, 0, 53}));
        auto r = parse_udp_datagram(h.view());
        REQUIRE(r.done());
        CHECK(r.value.payload.empty());
    }
}

TEST_CASE("UDP datagram header errors are drops") {
    CHECK(parse_udp_datagram(bytes({0, 0, 1, 1, 10, 0, 0, 1, 0, 53, 'x'})).fault ==
          Fault::kFragmented);
    CHECK(parse_udp_datagram(bytes({0, 0, 0x81})).fault == Fault::kFragmented);
    CHECK(parse_udp_datagram(bytes({0, 1, 0, 1, 10, 0, 0, 1, 0, 53})).fault == Fault::kBadReserved);
    CHECK(parse_udp_datagram(bytes({1})).fault == Fault::kBadReserved);
    CHECK(parse_udp_datagram(bytes({0, 0, 0, 7, 1, 2})).fault == Fault::kBadAddressType);
    CHECK(parse_udp_datagram(bytes({0, 0, 0, 3, 0, 0, 53})).fault == Fault::kBadDomain);
    CHECK(parse_udp_datagram({}).fault == Fault::kTruncated);
}

TEST_CASE("a client that sends greeting, auth and request in one segment") {
    auto creds = Credentials::create("u", "p");
    REQUIRE(creds);
    const Bytes stream = cat(cat(bytes({5, 1, 2, 1, 1, 'u', 1, 'p'}), bytes({5, 1, 0, 1, 127, 0, 0, 1})),
                             bytes({0x1f, 0x90, 'G', 'E', 'T'}));
    ByteView rest = stream;
    auto g = parse_greeting(rest);
    REQUIRE(g.done());
    CHECK(select_method(g.value, true) == Method::kUserPass);
    rest = rest.subspan(g.consumed);
    auto a = parse_auth_request(rest);
    REQUIRE(a.done());
    CHECK(creds->matches(a.value.username, a.value.password));
    rest = rest.subspan(a.consumed);
    auto q = parse_request(rest);
    REQUIRE(q.done());
    CHECK(q.value.target.to_string() == "127.0.0.1:8080");
    rest = rest.subspan(q.consumed);
    CHECK(text(rest) == "GET");
}

TEST_CASE("fault names are distinct and named") {
    const Fault all[] = {Fault::kNone,        Fault::kBadVersion,  Fault::kBadAuthVersion,
                         Fault::kBadRequestVersion, Fault::kBadCommand, Fault::kBadReserved,
                         Fault::kBadAddressType,    Fault::kBadDomain,  Fault::kTruncated,
                         Fault::kFragmented};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        CHECK(std::string_view(fault_name(all[i])) != "unknown");
        for (std::size_t j = 0; j < i; ++j) {
            CHECK(std::string_view(fault_name(all[i])) != fault_name(all[j]));
        }
    }
}
