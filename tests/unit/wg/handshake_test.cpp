// Noise_IKpsk2 message functions on their own: both sides derive matching keys; every
// tampered field, a wrong psk, a wrong responder or a low-order key fails the handshake.
#include <doctest/doctest.h>

#include "core/crypto/x25519.hpp"
#include "core/wg/handshake.hpp"
#include "tests/unit/wg/wg_test_support.hpp"

namespace tunless::wg {

namespace {

using test::SeededRng;

StaticIdentity identity(Rng& rng) {
    StaticIdentity id;
    id.private_key = crypto::generate_private_key(rng);
    id.public_key = crypto::public_key_from_private(id.private_key);
    id.present = true;
    return id;
}

struct Sides {
    SeededRng rng{7};
    StaticIdentity i = identity(rng);
    StaticIdentity r = identity(rng);
    Handshake hi;  // initiator's state for the responder peer
    Handshake hr;  // responder's state for the initiator peer
    crypto::Tai64n ts = crypto::tai64n_from_wall(WallTime{1'700'000'000, 0});
    Bytes init = Bytes(initiation::kSize);
    Bytes resp = Bytes(response::kSize);

    Sides() {
        test::init_crypto();
        hi.remote_static = r.public_key;
        hr.remote_static = i.public_key;
        precompute_static_static(i, hi);
        precompute_static_static(r, hr);
    }
    bool run_initiation() {
        if (!create_initiation(i, hi, rng, ts, 0x1111, init)) return false;
        InitiationCandidate c;
        if (!open_initiation_static(r, InitiationView(init), c)) return false;
        if (!(c.remote_static == i.public_key)) return false;
        if (!open_initiation_timestamp(hr, InitiationView(init), c)) return false;
        if (c.timestamp != ts || c.sender_index != 0x1111) return false;
        accept_initiation(hr, c, Instant{});
        return true;
    }
};

}  // namespace

TEST_CASE("initiator and responder derive crosswise equal transport keys") {
    Sides s;
    REQUIRE(s.run_initiation());
    CHECK(s.hi.state == HandshakeState::kInitiationCreated);
    CHECK(s.hr.state == HandshakeState::kInitiationConsumed);
    REQUIRE(create_response(s.hr, s.rng, 0x2222, s.resp));
    REQUIRE(consume_response(s.i, s.hi, ResponseView(s.resp)));
    CHECK(s.hi.remote_index == 0x2222);
    // Both transcripts agree before the keys are split.
    CHECK(s.hi.sym.hash.view()[0] == s.hr.sym.hash.view()[0]);
    CHECK(crypto::constant_time_equal(s.hi.sym.hash.view(), s.hr.sym.hash.view()));

    SessionKeys ki;
    SessionKeys kr;
    REQUIRE(derive_session(s.hi, ki));
    REQUIRE(derive_session(s.hr, kr));
    CHECK(ki.initiator);
    CHECK_FALSE(kr.initiator);
    CHECK(crypto::constant_time_equal(ki.send.view(), kr.recv.view()));
    CHECK(crypto::constant_time_equal(ki.recv.view(), kr.send.view()));
    CHECK_FALSE(crypto::constant_time_equal(ki.send.view(), ki.recv.view()));
    CHECK(ki.local_index == 0x1111);
    CHECK(ki.remote_index == 0x2222);
    CHECK(kr.local_index == 0x2222);
    CHECK(kr.remote_index == 0x1111);
    // Handshake secrets are gone after the split.
    CHECK(s.hi.state == HandshakeState::kZeroed);
    CHECK(s.hi.sym.chaining_key.is_zero());
    CHECK(s.hi.local_ephemeral.is_zero());
    CHECK_FALSE(derive_session(s.hi, ki));
}

TEST_CASE("matching preshared keys work, a mismatched one fails the response") {
    SUBCASE("same psk") {
        Sides s;
        s.hi.preshared_key.span()[0] = 9;
        s.hr.preshared_key.span()[0] = 9;
        REQUIRE(s.run_initiation());
        REQUIRE(create_response(s.hr, s.rng, 3, s.resp));
        CHECK(consume_response(s.i, s.hi, ResponseView(s.resp)));
    }
    SUBCASE("different psk") {
        Sides s;
        s.hr.preshared_key.span()[0] = 9;
        REQUIRE(s.run_initiation());  // the psk only enters at the response
        REQUIRE(create_response(s.hr, s.rng, 3, s.resp));
        CHECK_FALSE(consume_response(s.i, s.hi, ResponseView(s.resp)));
        CHECK(s.hi.state == HandshakeState::kInitiationCreated);  // nothing committed
    }
}

TEST_CASE("tampering with any encrypted initiation field fails") {
    for (std::size_t off : {initiation::kEphemeral, initiation::kStatic + 3,
                            initiation::kStatic + 47, initiation::kTimestamp,
                            initiation::kTimestamp + 27}) {
        Sides s;
        REQUIRE(create_initiation(s.i, s.hi, s.rng, s.ts, 1, s.init));
        s.init[off] ^= 0x01;
        InitiationCandidate c;
        const bool ok = open_initiation_static(s.r, InitiationView(s.init), c) &&
                        open_initiation_timestamp(s.hr, InitiationView(s.init), c);
        CAPTURE(off);
        CHECK_FALSE(ok);
    }
}

TEST_CASE("an initiation for another responder does not open") {
    Sides s;
    REQUIRE(create_initiation(s.i, s.hi, s.rng, s.ts, 1, s.init));
    SeededRng other_rng(99);
    const StaticIdentity other = identity(other_rng);
    InitiationCandidate c;
    CHECK_FALSE(open_initiation_static(other, InitiationView(s.init), c));
}

TEST_CASE("tampered responses fail and leave the initiator waiting") {
    for (std::size_t off : {response::kEphemeral, response::kEmpty, response::kEmpty + 15}) {
        Sides s;
        REQUIRE(s.run_initiation());
        REQUIRE(create_response(s.hr, s.rng, 3, s.resp));
        s.resp[off] ^= 0x80;
        CAPTURE(off);
        CHECK_FALSE(consume_response(s.i, s.hi, ResponseView(s.resp)));
        CHECK(s.hi.state == HandshakeState::kInitiationCreated);
    }
}

TEST_CASE("a low-order peer key cannot start a handshake") {
    Sides s;
    s.hi.remote_static = crypto::PublicKey{};  // the identity element: DH yields zero
    precompute_static_static(s.i, s.hi);
    CHECK_FALSE(s.hi.static_static_valid);
    CHECK_FALSE(create_initiation(s.i, s.hi, s.rng, s.ts, 1, s.init));
}

TEST_CASE("a response is only created after an initiation was consumed") {
    Sides s;
    CHECK_FALSE(create_response(s.hr, s.rng, 1, s.resp));
    Handshake fresh;
    CHECK_FALSE(consume_response(s.i, fresh, ResponseView(s.resp)));
}

}  // namespace tunless::wg
