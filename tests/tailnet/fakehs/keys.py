"""Curve25519 key pairs and their Tailscale text forms (tailscale types/key: "mkey:", "nodekey:",
"discokey:", "chalpub:", "privkey:" + 64 lowercase hex). Used by every other module."""

import os

import nacl.exceptions
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base

KEY_LEN = 32


def clamp(raw: bytes) -> bytes:
    # tailscale key.NewMachine/NewNode clamp private keys (RFC 7748); X25519 clamps anyway,
    # storing the clamped form keeps the files identical to what Go would write.
    b = bytearray(raw)
    b[0] &= 248
    b[31] = (b[31] & 127) | 64
    return bytes(b)


def new_private() -> bytes:
    return clamp(os.urandom(KEY_LEN))


def public_of(private: bytes) -> bytes:
    return crypto_scalarmult_base(private)


def x25519(private: bytes, public: bytes) -> bytes:
    try:
        out = crypto_scalarmult(private, public)
    except nacl.exceptions.RuntimeError as exc:  # libsodium refuses the all-zero result
        raise ValueError("x25519: low-order public key") from exc
    # Go's curve25519.X25519 rejects the all-zero shared secret (low-order point).
    if out == bytes(KEY_LEN):
        raise ValueError("x25519: low-order public key")
    return out


def text(prefix: str, raw: bytes) -> str:
    return prefix + raw.hex()


def parse(prefix: str, value) -> bytes:
    """Parse "<prefix><64 hex>"; raises ValueError for anything else (Go's UnmarshalText rejects
    empty strings and wrong prefixes too)."""
    if not isinstance(value, str) or not value.startswith(prefix):
        raise ValueError(f"expected {prefix}<64 hex>, got {str(value)[:80]!r}")
    hexpart = value[len(prefix):]
    if len(hexpart) != 2 * KEY_LEN:
        raise ValueError(f"{prefix} key must have 64 hex digits")
    try:
        return bytes.fromhex(hexpart)
    except ValueError as exc:
        raise ValueError(f"{prefix} key is not hex") from exc


def load_or_create(path: str) -> bytes:
    """A private key persisted as "privkey:<hex>" (headscale keeps noise_private.key like this)."""
    if os.path.exists(path):
        with open(path, encoding="ascii") as f:
            return parse("privkey:", f.read().strip())
    priv = new_private()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text("privkey:", priv) + "\n")
    return priv
