#!/usr/bin/env bash
# The whole test suite from a clean clone on Debian 12 (this is what .ci/run calls):
# installs what is needed, builds, and runs every test — unit, integration, fuzz regressions,
# and the network-namespace interop tests against wireguard-go (those need root and skip
# with a message otherwise).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

echo "== setup"
bash tools/setup.sh

echo "== layering rules"
bash tools/ci/check-layering.sh

echo "== build (RelWithDebInfo)"
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/test -j"$jobs"

echo "== tests"
ctest --test-dir build/test --output-on-failure --timeout 900
