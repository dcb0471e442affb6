// IP-address subjectAltName matching for TLS peers named by an IP literal (a ControlURL such as
// https://10.99.0.1 or a DERP node dialled by address). Mbed TLS 2.28 matches a hostname
// against dNSName/CN only and does not even list iPAddress SAN entries (x509_crt.h), so the
// TLS session skips its name check for IP literals and asks this instead (RFC 5280 §4.2.1.6,
// RFC 6125 §6.2.1: an IP reference identity matches only an iPAddress SAN, never the CN).
#pragma once

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"

namespace tunless::io {

// `extensions` is a certificate's v3 extensions as Mbed TLS keeps them (mbedtls_x509_crt::
// v3_ext: the Extensions SEQUENCE, with or without its [3] wrapper). True when a
// subjectAltName extension lists `ip` as an iPAddress entry (4 or 16 octets). Malformed DER is
// "no match", never a crash.
bool certificate_names_ip(ByteView extensions, const IpAddress& ip);

}  // namespace tunless::io
