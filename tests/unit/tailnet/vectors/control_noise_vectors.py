#!/usr/bin/env python3
"""Independent known-answer vectors for the ts2021 control channel (Noise IK).

Implements Noise_IK_25519_ChaChaPoly_BLAKE2s from the Noise specification (revision 34,
sections 5 and 7.5) for BOTH roles with fixed keys, including the fixed ephemerals, plus
Tailscale's framing (control/controlbase/messages.go) and transport nonces (conn.go: 4 zero
bytes + 64-bit counter BIG-endian, which is not the Noise spec's little-endian). Written from
the specifications only, with Python's hashlib and python3-cryptography, so it shares no code
with core/tailnet/control_noise.cpp. Its output is pasted into
tests/unit/tailnet/control_noise_test.cpp; run it again after changing any input below.

Usage: python3 control_noise_vectors.py
"""
import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

PROTOCOL_NAME = b"Noise_IK_25519_ChaChaPoly_BLAKE2s"
VERSION = 130
PROLOGUE = b"Tailscale Control Protocol v" + str(VERSION).encode()

MACHINE_PRIV = bytes(range(0x01, 0x21))
CONTROL_PRIV = bytes(range(0x41, 0x61))
CLIENT_EPH_PRIV = bytes(range(0x81, 0xA1))
SERVER_EPH_PRIV = bytes(range(0xC1, 0xE1))

C2S = [b"client record zero", b"client record one"]
S2C = [b"server record zero", b"server record one"]


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def dh(priv, pub_bytes):
    out = X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pub_bytes))
    assert out != bytes(32)
    return out


def blake2s(data):
    return hashlib.blake2s(data, digest_size=32).digest()


def hmac_blake2s(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def hkdf2(ck, ikm):
    temp = hmac_blake2s(ck, ikm)
    o1 = hmac_blake2s(temp, b"\x01")
    o2 = hmac_blake2s(temp, o1 + b"\x02")
    return o1, o2


class SymmetricState:
    """Noise spec section 5.2, with CipherState's n fixed at 0: every handshake key is used once."""

    def __init__(self):
        self.h = blake2s(PROTOCOL_NAME) if len(PROTOCOL_NAME) > 32 else PROTOCOL_NAME.ljust(32, b"\0")
        self.ck = self.h
        self.k = None

    def mix_hash(self, data):
        self.h = blake2s(self.h + data)

    def mix_key(self, ikm):
        self.ck, self.k = hkdf2(self.ck, ikm)

    def encrypt_and_hash(self, plaintext):
        ct = ChaCha20Poly1305(self.k).encrypt(bytes(12), plaintext, self.h)
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ct):
        pt = ChaCha20Poly1305(self.k).decrypt(bytes(12), ct, self.h)
        self.mix_hash(ct)
        return pt

    def split(self):
        return hkdf2(self.ck, b"")


def transport_nonce(n):
    return bytes(4) + n.to_bytes(8, "big")


def record(key, n, plaintext):
    ct = ChaCha20Poly1305(key).encrypt(transport_nonce(n), plaintext, None)
    return bytes([0x04]) + len(ct).to_bytes(2, "big") + ct


def initiator_write(machine_priv, control_pub, eph_priv):
    s = SymmetricState()
    s.mix_hash(PROLOGUE)
    s.mix_hash(control_pub)                      # <- s
    e_pub = pub(eph_priv)
    s.mix_hash(e_pub)                            # -> e
    s.mix_key(dh(eph_priv, control_pub))         # es
    enc_static = s.encrypt_and_hash(pub(machine_priv))  # s
    s.mix_key(dh(machine_priv, control_pub))     # ss
    tag = s.encrypt_and_hash(b"")
    body = e_pub + enc_static + tag
    msg = VERSION.to_bytes(2, "big") + b"\x01" + len(body).to_bytes(2, "big") + body
    return s, msg


def responder(control_priv, eph_priv, init):
    assert len(init) == 101 and init[2] == 1 and int.from_bytes(init[3:5], "big") == 96
    version = int.from_bytes(init[0:2], "big")
    s = SymmetricState()
    s.mix_hash(b"Tailscale Control Protocol v" + str(version).encode())
    s.mix_hash(pub(control_priv))
    ie = init[5:37]
    s.mix_hash(ie)                               # -> e
    s.mix_key(dh(control_priv, ie))              # es
    machine_pub = s.decrypt_and_hash(init[37:85])  # s
    s.mix_key(dh(control_priv, machine_pub))     # ss
    s.decrypt_and_hash(init[85:101])
    re_pub = pub(eph_priv)
    s.mix_hash(re_pub)                           # <- e
    s.mix_key(dh(eph_priv, ie))                  # ee
    s.mix_key(dh(eph_priv, machine_pub))         # se
    tag = s.encrypt_and_hash(b"")
    body = re_pub + tag
    resp = b"\x02" + len(body).to_bytes(2, "big") + body
    k1, k2 = s.split()
    return machine_pub, resp, k1, k2, s.h


def initiator_read(s, machine_priv, eph_priv, resp):
    assert resp[0] == 2 and int.from_bytes(resp[1:3], "big") == 48
    re = resp[3:35]
    s.mix_hash(re)                               # <- e
    s.mix_key(dh(eph_priv, re))                  # ee
    s.mix_key(dh(machine_priv, re))              # se
    s.decrypt_and_hash(resp[35:51])
    k1, k2 = s.split()
    return k1, k2, s.h


def main():
    control_pub = pub(CONTROL_PRIV)
    s, init = initiator_write(MACHINE_PRIV, control_pub, CLIENT_EPH_PRIV)
    machine_pub, resp, rk1, rk2, rh = responder(CONTROL_PRIV, SERVER_EPH_PRIV, init)
    assert machine_pub == pub(MACHINE_PRIV)
    k1, k2, h = initiator_read(s, MACHINE_PRIV, CLIENT_EPH_PRIV, resp)
    assert (k1, k2, h) == (rk1, rk2, rh)
    # k1 = client -> server, k2 = server -> client (controlbase/handshake.go Split use).
    print("machine_priv   ", MACHINE_PRIV.hex())
    print("control_priv   ", CONTROL_PRIV.hex())
    print("control_pub    ", control_pub.hex())
    print("client_eph_priv", CLIENT_EPH_PRIV.hex())
    print("server_eph_priv", SERVER_EPH_PRIV.hex())
    print("initiation     ", init.hex())
    print("response       ", resp.hex())
    print("handshake_hash ", h.hex())
    print("k1_c2s         ", k1.hex())
    print("k2_s2c         ", k2.hex())
    for n, pt in enumerate(C2S):
        print(f"c2s_record{n}    ", record(k1, n, pt).hex(), "#", pt.decode())
    for n, pt in enumerate(S2C):
        print(f"s2c_record{n}    ", record(k2, n, pt).hex(), "#", pt.decode())


if __name__ == "__main__":
    main()
