#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/control_noise_fuzz.cpp and fuzz/derp_frames_fuzz.cpp.

The input formats are documented at the top of each harness: [flags u8][rest], little-endian
u16 fields (fuzz/fuzz_input.hpp). The control_noise records are taken from
control_noise_vectors.py (same fixed keys as the harness). Usage, from the repository root:
    python3 tests/unit/tailnet/vectors/fuzz_seeds.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "fuzz", "corpus")

S2C_RECORDS = bytes.fromhex(
    "040022238cc3c324300d4acc3e3b50f868a0aabec4cf10fd36fd18d99c6f00c2ffe0e3ab4f"
    "040021e981fa54f44309bc7bf0a15ab5f843844112ee7b035199b142427588e1561f1bc0")

EARLY_JSON = b'{"nodeKeyChallenge":"chalpub:' + b"ab" * 32 + b'"}'
EARLY = b"\xff\xff\xffTS" + struct.pack(">I", len(EARLY_JSON)) + EARLY_JSON
H2_SETTINGS = bytes([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 250])
HEAD_101 = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tailscale-control-protocol\r\n"
            b"Connection: upgrade\r\n\r\n")


def chunks(*parts, flip_at=0):
    out = struct.pack("<H", flip_at)
    for p in parts:
        out += struct.pack("<H", len(p)) + p
    return out


def derp_frame(t, payload):
    return bytes([t]) + struct.pack(">I", len(payload)) + payload


def derp_struct(*frames):
    return b"".join(bytes([t]) + struct.pack("<H", len(p)) + p for t, p in frames)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    big = bytes(i % 251 for i in range(5000))
    write("control_noise", "valid_sealed_early_h2", b"\x03" + chunks(EARLY, H2_SETTINGS, big))
    write("control_noise", "tampered_sealed", b"\x07" + chunks(EARLY, H2_SETTINGS, flip_at=100))
    write("control_noise", "raw_known_answer_records", b"\x01" + S2C_RECORDS)
    write("control_noise", "server_error", b"\x00" + b"\x03\x00\x13unsupported version")
    write("control_noise", "http_101_then_sealed", b"\x0b" + HEAD_101 + chunks(H2_SETTINGS, b""))
    write("control_noise", "http_400_chunked",
          b"\x08HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"5\r\nhello\r\n0\r\n\r\n")

    peer = bytes([0xAB]) * 32
    write("derp_frames", "login_then_frames", b"\x0f" + derp_struct(
        (0x03, b'{"version":2,"TokenBucketBytesPerSecond":1000,"TokenBucketBytesBurst":5000}'),
        (0x05, peer + b"\x01\x00\x00\x00wireguard"),
        (0x06, b""),
        (0x12, bytes(range(8))),
        (0x08, peer + b"\x01"),
        (0x09, peer + bytes(19)),
        (0x14, b"duplicate client"),
        (0x15, struct.pack(">II", 1500, 30000)),
        (0x13, bytes(8)),
        (0x42, b"unknown"),
    ))
    write("derp_frames", "raw_greeting_only",
          b"\x00" + derp_frame(0x01, b"DERP\xf0\x9f\x94\x91" + bytes([9]) * 32))
    write("derp_frames", "oversize_packet_then_packet",
          b"\x01" + derp_frame(0x05, peer + bytes(70000)) + derp_frame(0x05, peer + b"x"))
    write("derp_frames", "frame_over_1mib", b"\x01" + b"\x05" + struct.pack(">I", 1 << 21))
    write("derp_frames", "not_home_short_frames", b"\x03" + derp_struct(
        (0x12, b"\x01\x02"), (0x08, b"short"), (0x15, b"\x00"), (0x05, b"")))


if __name__ == "__main__":
    main()
