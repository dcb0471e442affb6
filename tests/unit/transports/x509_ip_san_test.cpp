// iPAddress subjectAltName matching on hand-built DER (RFC 5280 §4.2.1.6).
#include "transports/x509_ip_san.hpp"

#include <doctest/doctest.h>

using namespace tunless;

namespace {

// Extensions ::= SEQUENCE { Extension { subjectAltName, OCTET STRING { GeneralNames {
//   dNSName "a", iPAddress 10.0.0.1 } } } }
const Bytes kExtensions = {0x30, 0x14, 0x30, 0x12, 0x06, 0x03, 0x55, 0x1d, 0x11, 0x04, 0x0b,
                           0x30, 0x09, 0x82, 0x01, 0x61, 0x87, 0x04, 0x0a, 0x00, 0x00, 0x01};

}  // namespace

TEST_CASE("x509 IP SAN: the listed address matches, others and the DNS name do not") {
    CHECK(io::certificate_names_ip(kExtensions, *IpAddress::parse("10.0.0.1")));
    CHECK(io::certificate_names_ip(kExtensions, *IpAddress::parse("::ffff:10.0.0.1")));
    CHECK_FALSE(io::certificate_names_ip(kExtensions, *IpAddress::parse("10.0.0.2")));
    CHECK_FALSE(io::certificate_names_ip(kExtensions, *IpAddress::parse("fd00::1")));
    Bytes wrapped = {0xa3, 0x16};  // with the [3] EXPLICIT wrapper
    wrapped.insert(wrapped.end(), kExtensions.begin(), kExtensions.end());
    CHECK(io::certificate_names_ip(wrapped, *IpAddress::parse("10.0.0.1")));
}

TEST_CASE("x509 IP SAN: truncated or corrupted DER is no match, never a crash") {
    const IpAddress ip = *IpAddress::parse("10.0.0.1");
    for (std::size_t n = 0; n < kExtensions.size(); ++n) {
        CHECK_FALSE(io::certificate_names_ip(ByteView(kExtensions.data(), n), ip));
    }
    for (std::size_t i = 0; i < kExtensions.size(); ++i) {
        for (std::uint8_t v : {0x00, 0x7f, 0x80, 0xff}) {
            Bytes b = kExtensions;
            b[i] = v;
            (void)io::certificate_names_ip(b, ip);  // any answer, no over-read (ASan build)
        }
    }
}
