// Timestamp floor persistence (tools/tunless/app/timestamp_store): file format, write policy,
// atomic files, and the end-to-end property: after a "reboot" with the clock at 1970 the device
// still sends a TAI64N later than any it sent before.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/crypto/keys.hpp"
#include "core/crypto/x25519.hpp"
#include "core/wg/device.hpp"
#include "tests/support/test_rng.hpp"
#include "tools/tunless/app/timestamp_store.hpp"

namespace tunless::app {
namespace {

std::string make_temp_dir() {
    char tmpl[] = "/tmp/tunless-ts-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
}

crypto::PublicKey key_of(std::uint8_t b) {
    crypto::PublicKey k;
    k.bytes.fill(b);
    return k;
}

// A device with a private key and one peer with an endpoint, so initiate() sends.
struct Node {
    test::SeededRng rng{7};
    test::FakeClock clock;
    wg::Device dev{rng, clock};
    wg::PeerId peer = wg::kNoPeer;
    explicit Node(std::uint64_t seed) : rng(seed) {
        test::SeededRng key_rng(99);
        dev.set_private_key(crypto::generate_private_key(key_rng));
        test::SeededRng peer_rng(100);
        wg::PeerConfig pc;
        pc.public_key = crypto::public_key_from_private(crypto::generate_private_key(peer_rng));
        pc.endpoint = Endpoint::udp(*IpAddress::parse("192.0.2.1"), 51820);
        peer = *dev.add_peer(pc);
    }
    void handshake() {
        wg::Outbox out;
        REQUIRE(dev.initiate(clock.now_mono(), peer, out));
        REQUIRE(out.datagrams().size() == 1);
    }
};

}  // namespace

TEST_CASE("timestamp file: format round-trip and strict parse") {
    const crypto::Tai64n t = tai64n_at_unix_seconds(1'700'000'123);
    const std::string text = format_timestamp_file(t);
    CHECK(text == "tai64n 400000006553f1850000000" "0\n");
    REQUIRE(parse_timestamp_file(text));
    CHECK(*parse_timestamp_file(text) == t);
    CHECK(tai64n_unix_seconds(t) == 1'700'000'123);
    CHECK_FALSE(parse_timestamp_file(""));
    CHECK_FALSE(parse_timestamp_file(text.substr(0, text.size() - 1)));        // no newline
    CHECK_FALSE(parse_timestamp_file("tai64n 400000006553F18500000000\n"));   // uppercase
    CHECK_FALSE(parse_timestamp_file("tai64x 400000006553f18500000000\n"));
    CHECK_FALSE(parse_timestamp_file(text + "x"));
}

TEST_CASE("timestamp file name: per key, hides the key") {
    const std::string a = timestamp_file_name(key_of(1));
    CHECK(a.size() == std::string("timestamp-").size() + 32);
    CHECK(a.rfind("timestamp-", 0) == 0);
    CHECK(a == timestamp_file_name(key_of(1)));
    CHECK(a != timestamp_file_name(key_of(2)));
    CHECK(a.find("0101") == std::string::npos);
}

TEST_CASE("write policy: a floor ahead, rewritten only near it") {
    const crypto::Tai64n zero{};
    const auto at = tai64n_at_unix_seconds;
    // Nothing sent since start: no write, even without a file.
    CHECK_FALSE(next_timestamp_floor(std::nullopt, zero, zero));
    CHECK_FALSE(next_timestamp_floor(std::nullopt, at(5000), at(5000)));
    // First send without a file: floor = sent + lead.
    auto f = next_timestamp_floor(std::nullopt, at(1000), zero);
    REQUIRE(f);
    CHECK(tai64n_unix_seconds(*f) == 1000 + kTimestampLeadSeconds);
    // Sends well below the stored floor: no write (this is what spares the flash).
    const crypto::Tai64n stored = *f;
    CHECK_FALSE(next_timestamp_floor(stored, at(1000 + kTimestampLeadSeconds -
                                                 kTimestampRefreshMarginSeconds - 1), zero));
    // Within the margin or past the floor: rewrite, again a lead ahead.
    const std::int64_t near = 1000 + kTimestampLeadSeconds - kTimestampRefreshMarginSeconds;
    f = next_timestamp_floor(stored, at(near), zero);
    REQUIRE(f);
    CHECK(tai64n_unix_seconds(*f) == near + kTimestampLeadSeconds);
    CHECK(next_timestamp_floor(stored, at(99'999), zero));
}

TEST_CASE("save/load: atomic private file, missing and corrupt files") {
    const std::string dir = make_temp_dir();
    const std::string path = dir + "/timestamp-x";
    auto missing = load_timestamp_floor(path);
    REQUIRE(missing);
    CHECK_FALSE(*missing);
    const crypto::Tai64n t = tai64n_at_unix_seconds(1'234'567);
    REQUIRE(save_timestamp_floor(path, t));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(::access((path + ".tmp").c_str(), F_OK) != 0);  // renamed away
    auto loaded = load_timestamp_floor(path);
    REQUIRE(loaded);
    REQUIRE(*loaded);
    CHECK(**loaded == t);
    std::ofstream(path) << "garbage\n";
    CHECK_FALSE(load_timestamp_floor(path));
    std::remove(path.c_str());
    CHECK(::rmdir(dir.c_str()) == 0);
}

TEST_CASE("after a reboot with the clock at 1970, the device still sends later timestamps") {
    const std::string dir = make_temp_dir();
    crypto::Tai64n before{};
    {
        Node n(1);
        TimestampGuard guard(dir, n.dev);
        n.handshake();
        before = n.dev.last_sent_timestamp();
        guard.check();
        CHECK(guard.writes() == 1);
        // More handshakes within the lead: no further writes.
        for (int i = 0; i < 10; ++i) {
            n.clock.advance(std::chrono::minutes(2));
            n.handshake();
            guard.check();
        }
        CHECK(guard.writes() == 1);
        before = n.dev.last_sent_timestamp();
    }
    {
        Node n(2);
        n.clock.set_wall(WallTime{0, 0});  // no RTC: 1970
        TimestampGuard guard(dir, n.dev);
        n.handshake();
        CHECK(crypto::tai64n_after(n.dev.last_sent_timestamp(), before));
        guard.check();
        CHECK(guard.writes() == 1);  // the new floor moves ahead of what was just sent
    }
    {
        // Without the file (the field failure): the timestamp is older and a peer drops it.
        Node n(3);
        n.clock.set_wall(WallTime{0, 0});
        n.handshake();
        CHECK_FALSE(crypto::tai64n_after(n.dev.last_sent_timestamp(), before));
    }
    const std::string file = dir + "/" + timestamp_file_name(Node(4).dev.public_key());
    CHECK(std::remove(file.c_str()) == 0);
    CHECK(::rmdir(dir.c_str()) == 0);
}

TEST_CASE("OffsetWallClock shifts the base clock") {
    test::FakeClock base;
    OffsetWallClock shifted(base, -1'000'000'000);
    CHECK(shifted.now().seconds == base.now().seconds - 1'000'000'000);
}

}  // namespace tunless::app
