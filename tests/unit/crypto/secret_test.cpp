#include <doctest/doctest.h>

#include <array>

#include "core/crypto/init.hpp"
#include "core/crypto/secret.hpp"

using namespace tunless;
using namespace tunless::crypto;

TEST_CASE("crypto::init is idempotent") {
    CHECK(init());
    CHECK(init());
}

TEST_CASE("constant_time_equal and is_all_zero") {
    const std::array<std::uint8_t, 4> a{1, 2, 3, 4}, b{1, 2, 3, 4}, c{1, 2, 3, 5};
    CHECK(constant_time_equal(a, b));
    CHECK(!constant_time_equal(a, c));
    CHECK(!constant_time_equal(a, ByteView(b.data(), 3)));
    CHECK(constant_time_equal({}, {}));
    const std::array<std::uint8_t, 33> z{};
    CHECK(is_all_zero(z));
    CHECK(is_all_zero({}));
    CHECK(!is_all_zero(a));
    std::array<std::uint8_t, 33> last{};
    last[32] = 1;
    CHECK(!is_all_zero(last));
}

TEST_CASE("SecretBytes: copy, move wipes the source, wipe") {
    std::array<std::uint8_t, 8> raw{9, 8, 7, 6, 5, 4, 3, 2};
    SecretBytes<8> s(raw);
    CHECK(constant_time_equal(s.view(), raw));
    SecretBytes<8> copy = s;
    CHECK(constant_time_equal(copy.view(), raw));
    SecretBytes<8> moved = std::move(s);
    CHECK(constant_time_equal(moved.view(), raw));
    CHECK(s.is_zero());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    moved.wipe();
    CHECK(moved.is_zero());
    secure_wipe(raw.data(), raw.size());
    CHECK(is_all_zero(raw));
}
