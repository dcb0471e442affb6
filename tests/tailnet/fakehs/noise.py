"""Noise IK responder and transport records of the ts2021 control channel.

Follows tailscale control/controlbase/handshake.go (Server) and conn.go: protocol
Noise_IK_25519_ChaChaPoly_BLAKE2s, prologue "Tailscale Control Protocol v<ver>", 101-byte
initiation, 51-byte response, records type 0x04 + BE16 length, at most 4096 bytes, and a
12-byte nonce of 4 zero bytes + 64-bit BIG-endian counter (unlike the Noise spec and WireGuard).
Used by control.py for /ts2021.
"""

import hashlib
import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from . import keys

PROTOCOL_NAME = b"Noise_IK_25519_ChaChaPoly_BLAKE2s"
PROLOGUE_PREFIX = b"Tailscale Control Protocol v"

MSG_INITIATION = 0x01
MSG_RESPONSE = 0x02
MSG_ERROR = 0x03
MSG_RECORD = 0x04

INITIATION_LEN = 101  # 2 version + 1 type + 2 length + 32 e + 48 s + 16 tag
RESPONSE_LEN = 51  # 1 type + 2 length + 32 e + 16 tag
TAG_LEN = 16
MAX_MESSAGE = 4096
MAX_CIPHERTEXT = MAX_MESSAGE - 3
MAX_PLAINTEXT = MAX_CIPHERTEXT - TAG_LEN  # 4077
NONCE_LIMIT = (1 << 64) - 1  # controlbase never uses counter 2^64-1


class NoiseError(Exception):
    pass


def _blake2s(*parts: bytes) -> bytes:
    h = hashlib.blake2s(digest_size=32)
    for p in parts:
        h.update(p)
    return h.digest()


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.blake2s).digest()


def _hkdf2(chaining_key: bytes, ikm: bytes):
    # RFC 5869 HKDF with HMAC-BLAKE2s, salt = ck, empty info, two 32-byte outputs
    # (golang.org/x/crypto/hkdf as used by controlbase MixDH and Split).
    prk = _hmac(chaining_key, ikm)
    t1 = _hmac(prk, b"\x01")
    t2 = _hmac(prk, t1 + b"\x02")
    return t1, t2


class _Symmetric:
    def __init__(self):
        self.h = _blake2s(PROTOCOL_NAME)  # name is 33 bytes > 32, so it is hashed
        self.ck = self.h

    def mix_hash(self, data: bytes):
        self.h = _blake2s(self.h, data)

    def mix_dh(self, private: bytes, public: bytes) -> bytes:
        self.ck, k = _hkdf2(self.ck, keys.x25519(private, public))
        return k

    def encrypt_and_hash(self, k: bytes, plaintext: bytes) -> bytes:
        ct = ChaCha20Poly1305(k).encrypt(bytes(12), plaintext, self.h)
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, k: bytes, ciphertext: bytes) -> bytes:
        try:
            pt = ChaCha20Poly1305(k).decrypt(bytes(12), ciphertext, self.h)
        except InvalidTag as exc:
            raise NoiseError("handshake decryption failed") from exc
        self.mix_hash(ciphertext)
        return pt

    def split(self):
        return _hkdf2(self.ck, b"")


def error_message(text: str) -> bytes:
    """Unauthenticated handshake error (type 0x03), controlbase Server sendErr."""
    raw = text.encode()[:0xFFFF]
    return struct.pack(">BH", MSG_ERROR, len(raw)) + raw


class ServerHandshakeResult:
    def __init__(self, version, machine_public, response, tx_key, rx_key, handshake_hash):
        self.version = version
        self.machine_public = machine_public
        self.response = response
        self.tx_key = tx_key
        self.rx_key = rx_key
        self.handshake_hash = handshake_hash


def respond(static_private: bytes, init: bytes) -> ServerHandshakeResult:
    """Process a client initiation; raises NoiseError with a text fit for error_message()."""
    if len(init) != INITIATION_LEN:
        raise NoiseError("wrong handshake initiation size")
    version, msg_type, length = struct.unpack(">HBH", init[:5])
    if msg_type != MSG_INITIATION:
        raise NoiseError("unexpected handshake message type")
    if length != INITIATION_LEN - 5:
        raise NoiseError("wrong handshake initiation length")
    s = _Symmetric()
    s.mix_hash(PROLOGUE_PREFIX + str(version).encode())
    s.mix_hash(keys.public_of(static_private))  # <- s
    client_e = init[5:37]
    s.mix_hash(client_e)  # -> e
    try:
        k = s.mix_dh(static_private, client_e)  # es
        machine_public = s.decrypt_and_hash(k, init[37:85])  # s
        k = s.mix_dh(static_private, machine_public)  # ss
        s.decrypt_and_hash(k, init[85:101])  # empty payload
        eph = keys.new_private()
        eph_pub = keys.public_of(eph)
        s.mix_hash(eph_pub)  # <- e
        s.mix_dh(eph, client_e)  # ee
        k = s.mix_dh(eph, machine_public)  # se
        tag = s.encrypt_and_hash(k, b"")
    except ValueError as exc:  # low-order point
        raise NoiseError(str(exc)) from exc
    c1, c2 = s.split()  # c1: client->server, c2: server->client
    response = struct.pack(">BH", MSG_RESPONSE, RESPONSE_LEN - 3) + eph_pub + tag
    return ServerHandshakeResult(version, machine_public, response, c2, c1, s.h)


def _nonce(counter: int) -> bytes:
    return b"\x00\x00\x00\x00" + struct.pack(">Q", counter)


class Transport:
    """Record layer after the handshake: encrypt() splits a byte string into records,
    feed()/pop_plaintext() reassemble records from a TCP byte stream."""

    def __init__(self, tx_key: bytes, rx_key: bytes):
        self._tx = ChaCha20Poly1305(tx_key)
        self._rx = ChaCha20Poly1305(rx_key)
        self._tx_n = 0
        self._rx_n = 0
        self._inbuf = bytearray()
        self.records_in = 0
        self.records_out = 0

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for off in range(0, len(data), MAX_PLAINTEXT):
            out += self.encrypt_record(data[off:off + MAX_PLAINTEXT])
        return bytes(out)

    def encrypt_record(self, chunk: bytes) -> bytes:
        if len(chunk) > MAX_PLAINTEXT:
            raise NoiseError("record plaintext too large")
        if self._tx_n >= NONCE_LIMIT:
            raise NoiseError("cipher exhausted")
        ct = self._tx.encrypt(_nonce(self._tx_n), chunk, None)
        self._tx_n += 1
        self.records_out += 1
        return struct.pack(">BH", MSG_RECORD, len(ct)) + ct

    def feed(self, data: bytes) -> bytes:
        """Append received bytes, return all plaintext of the complete records (may be b"")."""
        self._inbuf += data
        out = bytearray()
        while len(self._inbuf) >= 3:
            msg_type = self._inbuf[0]
            length = struct.unpack(">H", self._inbuf[1:3])[0]
            if 3 + length > MAX_MESSAGE:
                raise NoiseError(f"record of {3 + length} bytes exceeds {MAX_MESSAGE}")
            if msg_type != MSG_RECORD:
                raise NoiseError(f"unexpected record type {msg_type}")
            if len(self._inbuf) < 3 + length:
                break
            ct = bytes(self._inbuf[3:3 + length])
            del self._inbuf[:3 + length]
            if self._rx_n >= NONCE_LIMIT:
                raise NoiseError("cipher exhausted")
            try:
                out += self._rx.decrypt(_nonce(self._rx_n), ct, None)
            except InvalidTag as exc:
                raise NoiseError(f"record {self._rx_n} failed to decrypt") from exc
            self._rx_n += 1
            self.records_in += 1
        return bytes(out)
