#!/usr/bin/env bash
# Installs everything tunless needs to build and test on Debian 12, and fetches lwIP's
# source from Debian's `lwip` source package into .deps/ (ignored by git, never committed).
# Idempotent: a second run only checks. Usage: tools/setup.sh [--build-only]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
want_tests=1
[ "${1:-}" = "--build-only" ] && want_tests=0

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

build_pkgs=(build-essential cmake pkg-config dpkg-dev libsodium-dev libmbedtls-dev libfmt-dev doctest-dev)
test_pkgs=(clang libclang-rt-14-dev wireguard-go wireguard-tools iproute2 iputils-ping procps
           curl iperf3 ncat socat telnet inetutils-telnetd python3 kmod)
pkgs=("${build_pkgs[@]}")
[ "$want_tests" = 1 ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# `apt-get source` needs a deb-src entry: mirror the existing deb entries.
src_list=/etc/apt/sources.list.d/tunless-deb-src.sources
need_update=0
if [ ! -f "$src_list" ] && ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $sudo_cmd tee "$src_list" >/dev/null
    else
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' | $sudo_cmd tee /etc/apt/sources.list.d/tunless-deb-src.list >/dev/null
    fi
    need_update=1
fi

lwip_dir="$top/.deps/lwip"
if [ ${#missing[@]} -gt 0 ] || [ "$need_update" = 1 ] || [ ! -f "$lwip_dir/src/core/init.c" ]; then
    echo "setup: apt-get update"
    $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$lwip_dir/src/core/init.c" ]; then
    echo "setup: fetching lwIP source (Debian source package 'lwip')"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get source -qq --download-only lwip >/dev/null && dpkg-source -x --skip-patches ./*.dsc lwip-src >/dev/null)
    rm -rf "$lwip_dir"; mkdir -p "$top/.deps"
    mv "$tmp/lwip-src" "$lwip_dir"
    rm -rf "$tmp"
fi
echo "setup: ok (lwIP $(grep -m1 -o 'LWIP_VERSION_MAJOR *[0-9]*' "$lwip_dir/src/include/lwip/init.h" | awk '{print $2}').x at .deps/lwip)"
