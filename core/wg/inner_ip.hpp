// Minimal IPv4/IPv6 header checks for cryptokey routing (paper §2; kernel receive.c
// wg_packet_consume_data_done, wireguard-go RoutineSequentialReceiver): the version, that the
// fixed header fits, the length the header declares, and where src/dst are. No options,
// extension headers or checksums (the AEAD already authenticated the packet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"

namespace tunless::wg {

struct InnerIp {
    std::size_t total_len = 0;  // length the header declares (<= buffer size)
    IpAddress src;
    IpAddress dst;
};

// nullopt unless `packet` starts with a well-formed IPv4 (IHL >= 5, header <= total length)
// or IPv6 header whose declared length fits in `packet` (trailing bytes = padding).
std::optional<InnerIp> parse_inner_ip(ByteView packet);

}  // namespace tunless::wg
