// The fixed ts2021 Noise transcript shared by control_noise_test and control_session_test:
// output of tests/unit/tailnet/vectors/control_noise_vectors.py (an independent Python Noise IK
// initiator + responder written from the Noise spec, python3-cryptography + hashlib), plus the
// small helpers both use to replay it.
#pragma once

#include <string>
#include <string_view>

#include "core/base/bytes.hpp"
#include "core/base/rng.hpp"

namespace tunless::test::noise_vectors {

inline Bytes hex(std::string_view h) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        out.push_back(
            static_cast<std::uint8_t>(std::stoul(std::string(h.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

// Hands out fixed bytes (the test's ephemeral key), then zeros.
class FixedRng final : public Rng {
public:
    explicit FixedRng(Bytes bytes) : bytes_(std::move(bytes)) {}
    void fill(MutByteView out) override {
        for (auto& b : out) {
            b = pos_ < bytes_.size() ? bytes_[pos_++] : 0;
        }
    }

private:
    Bytes bytes_;
    std::size_t pos_ = 0;
};

inline constexpr std::string_view kMachinePriv =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
inline constexpr std::string_view kControlPriv =
    "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60";
inline constexpr std::string_view kControlPub =
    "64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466";
inline constexpr std::string_view kClientEphPriv =
    "8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0";
inline constexpr std::string_view kInitiation =
    "0082010060883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c777e515e2649e7bc3053"
    "b2ad63f8f50b185b3f445b2075edc5928e529b876fcf971145a54b17aa0c0729baf6394f9cb1d5d8e464366291fa"
    "f2f2ea21bc7c38cd75";
inline constexpr std::string_view kResponse =
    "0200303a553d74792d727efa9b9a4cde3da1ad93f1a2d0c09cb639b1a3c0fda14cbe24298a46690bb25482a0ee03"
    "bfe2d320ec";
inline constexpr std::string_view kHandshakeHash =
    "9e8c1f8cb5b216fc526310ea58520ae44f9bc704e42dcbac418bf1a15d860507";
inline constexpr std::string_view kK1 = "31f30c46ac033019baafa7863162463ba111d10fa51592725b06f24ac469720e";
inline constexpr std::string_view kK2 = "2aecc4e7049a761e392ee4ca2efc642d5d3a4ee59bb213c4025cf6c47c9ec02b";

}  // namespace tunless::test::noise_vectors
