#include "transports/x509_ip_san.hpp"

#include <mbedtls/asn1.h>

#include <algorithm>

namespace tunless::io {
namespace {

// id-ce-subjectAltName, 2.5.29.17.
constexpr unsigned char kSanOid[] = {0x55, 0x1d, 0x11};
// GeneralName iPAddress: [7] IMPLICIT OCTET STRING.
constexpr int kIpAddressTag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;

bool general_names_have(unsigned char* p, const unsigned char* end, const IpAddress& ip) {
    std::size_t len = 0;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
        return false;
    const unsigned char* names_end = p + len;
    while (p < names_end) {
        const int tag = *p++;
        if (mbedtls_asn1_get_len(&p, names_end, &len) != 0) return false;
        if (tag == kIpAddressTag && len == ip.size() && std::equal(p, p + len, ip.data()))
            return true;
        p += len;
    }
    return false;
}

}  // namespace

bool certificate_names_ip(ByteView extensions, const IpAddress& ip) {
    // Mbed TLS's parser works on non-const pointers but never writes through them.
    auto* p = const_cast<unsigned char*>(extensions.data());
    const unsigned char* end = p + extensions.size();
    std::size_t len = 0;
    if (p < end && *p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3)) {
        if (mbedtls_asn1_get_tag(&p, end, &len,
                                 MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3) != 0)
            return false;
        end = p + len;
    }
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
        return false;
    end = p + len;
    const IpAddress want = ip.unmap_v4();
    while (p < end) {  // Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }
        if (mbedtls_asn1_get_tag(&p, end, &len,
                                 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
            return false;
        const unsigned char* ext_end = p + len;
        unsigned char* q = p;
        p += len;
        std::size_t oid_len = 0;
        if (mbedtls_asn1_get_tag(&q, ext_end, &oid_len, MBEDTLS_ASN1_OID) != 0) return false;
        const bool is_san = oid_len == sizeof kSanOid && std::equal(q, q + oid_len, kSanOid);
        q += oid_len;
        if (!is_san) continue;
        int critical = 0;
        if (q < ext_end && *q == MBEDTLS_ASN1_BOOLEAN &&
            mbedtls_asn1_get_bool(&q, ext_end, &critical) != 0)
            return false;
        std::size_t value_len = 0;
        if (mbedtls_asn1_get_tag(&q, ext_end, &value_len, MBEDTLS_ASN1_OCTET_STRING) != 0)
            return false;
        return general_names_have(q, q + value_len, want);
    }
    return false;
}

}  // namespace tunless::io
