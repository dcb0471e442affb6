#!/usr/bin/env bash
# The main job from a clean clone on Debian 12: installs build dependencies, builds tunless,
# and runs `tunless up` in the foreground. Without arguments it uses (and on first start
# creates) a default config in the state directory, printing the node's public key and a
# [Peer] snippet for the other side. Extra arguments go to `tunless up` (e.g. -c my.conf).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash tools/setup.sh --build-only
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DTUNLESS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target tunless
exec build/release/tools/tunless/tunless up "$@"
