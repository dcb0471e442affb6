// The Internet checksum (RFC 1071) lwIP uses for every segment it sends (LWIP_CHKSUM in
// lwipopts.h). lwIP's best portable version adds 32-bit words with a carry fold per step; this
// one reads 8 bytes at a time into two 64-bit accumulators of 32-bit halves, which cannot
// overflow for any length lwIP passes (int), and folds once at the end.
#include <cstdint>
#include <cstring>

namespace {

std::uint64_t load64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);  // any alignment: lwIP passes pbuf payloads at odd offsets
    return v;
}

}  // namespace

// Returns the folded one's-complement sum of `len` bytes as lwIP expects from LWIP_CHKSUM:
// 16-bit words in host byte order, pairs counted from `data` (not from an aligned address),
// a trailing odd byte as the first byte of a zero-padded word; not inverted.
extern "C" unsigned short tunless_internet_checksum(const void* data, int len) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t n = len > 0 ? static_cast<std::size_t>(len) : 0;
    // Sums of 32-bit halves: 2^32 adds of < 2^32 each fit 64 bits; n < 2^31 gives < 2^29 adds.
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    while (n >= 16) {
        const std::uint64_t x = load64(p);
        const std::uint64_t y = load64(p + 8);
        a += (x & 0xffffffffu) + (x >> 32);
        b += (y & 0xffffffffu) + (y >> 32);
        p += 16;
        n -= 16;
    }
    std::uint64_t sum = a + b;
    while (n >= 4) {
        std::uint32_t v;
        std::memcpy(&v, p, sizeof v);
        sum += v;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        std::uint16_t v;
        std::memcpy(&v, p, sizeof v);
        sum += v;
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        std::uint16_t v = 0;
        std::memcpy(&v, p, 1);  // the odd byte is the first byte of its word, in memory order
        sum += v;
    }
    // Folding 2^16 into 1 (mod 0xffff) four times leaves a 16-bit value from any 64-bit sum.
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return static_cast<unsigned short>(sum);
}
