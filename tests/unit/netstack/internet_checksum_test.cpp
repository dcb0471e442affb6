// The checksum lwIP computes for what it sends (netstack/port/internet_checksum.cpp) against
// RFC 1071's worked example and a word-at-a-time reference, at every length and alignment
// lwIP can hand it.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

extern "C" unsigned short tunless_internet_checksum(const void* data, int len);

namespace {

// RFC 1071 §4.1, summing 16-bit words in host order as lwIP's LWIP_CHKSUM contract says.
unsigned short reference_sum(const unsigned char* p, int len) {
    std::uint32_t sum = 0;
    while (len > 1) {
        std::uint16_t w;
        __builtin_memcpy(&w, p, 2);
        sum += w;
        p += 2;
        len -= 2;
    }
    if (len == 1) {
        std::uint16_t w = 0;
        __builtin_memcpy(&w, p, 1);
        sum += w;
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<unsigned short>(sum);
}

std::uint16_t to_big_endian_value(unsigned short host_order_sum) {
    const auto* b = reinterpret_cast<const unsigned char*>(&host_order_sum);
    return static_cast<std::uint16_t>(b[0] << 8 | b[1]);
}

}  // namespace

TEST_CASE("internet checksum: RFC 1071 §3 example") {
    // Bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 as big-endian words.
    const unsigned char bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(to_big_endian_value(tunless_internet_checksum(bytes, 8)) == 0xddf2);
}

TEST_CASE("internet checksum: every length up to 3000 at every start offset matches RFC 1071") {
    std::vector<unsigned char> buf(3000 + 16);
    std::uint32_t x = 0x12345678;
    for (auto& c : buf) {  // xorshift: mixed bytes, including runs that carry a lot
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<unsigned char>(x);
    }
    for (int offset = 0; offset < 8; ++offset) {
        for (int len = 0; len <= 3000; ++len) {
            const unsigned char* p = buf.data() + offset;
            REQUIRE_MESSAGE(tunless_internet_checksum(p, len) == reference_sum(p, len),
                            "offset " << offset << " len " << len);
        }
    }
}

TEST_CASE("internet checksum: all-ones data folds the carries completely") {
    const std::vector<unsigned char> ones(65535, 0xff);
    for (int len : {0, 1, 2, 15, 16, 17, 1500, 65534, 65535}) {
        CHECK(tunless_internet_checksum(ones.data(), len) == reference_sum(ones.data(), len));
    }
    CHECK(tunless_internet_checksum(ones.data(), 2) == 0xffff);
}
