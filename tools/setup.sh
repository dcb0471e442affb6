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

# libnghttp2-dev + rapidjson-dev: the tailnet control client (HTTP/2 over Noise, tailcfg JSON).
build_pkgs=(build-essential cmake pkg-config dpkg-dev patch libsodium-dev libmbedtls-dev libfmt-dev doctest-dev
            libnghttp2-dev rapidjson-dev)
test_pkgs=(clang libclang-rt-14-dev wireguard-go wireguard-tools iproute2 iputils-ping procps
           curl iperf3 ncat socat telnet inetutils-telnetd python3 kmod
           python3-h2 python3-nacl python3-cryptography openssl)
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
updated=0
# `apt-get update` only when something is missing, and a failing mirror (a partial index, a
# foreign-architecture list) is a warning: the packages we need may still be installable.
apt_update() {
    [ "$updated" = 1 ] && return 0
    updated=1
    echo "setup: apt-get update"
    $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq || echo "setup: warning: apt-get update reported errors; continuing"
}
[ "$need_update" = 1 ] && apt_update
if [ ${#missing[@]} -gt 0 ]; then
    apt_update
    echo "setup: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

fetch_lwip() {
    local tmp
    tmp=$(mktemp -d)
    if (cd "$tmp" && apt-get source -qq --download-only lwip >/dev/null 2>&1 &&
        dpkg-source -x --skip-patches ./*.dsc lwip-src >/dev/null 2>&1); then
        rm -rf "$lwip_dir"; mkdir -p "$top/.deps"
        mv "$tmp/lwip-src" "$lwip_dir"
        rm -rf "$tmp"
        return 0
    fi
    rm -rf "$tmp"
    return 1
}
if [ ! -f "$lwip_dir/src/core/init.c" ]; then
    # Upstream 2.1.3 as Debian ships it; Debian's patches only touch the sockets/tcpip-thread
    # APIs and the Hurd port, none of which we compile, so they are skipped.
    echo "setup: fetching lwIP source (Debian source package 'lwip')"
    fetch_lwip || { apt_update; fetch_lwip; } || { echo "setup: cannot fetch the lwip source package" >&2; exit 1; }
fi
echo "setup: ok (lwIP $(grep -m1 -o 'LWIP_VERSION_MAJOR *[0-9]*' "$lwip_dir/src/include/lwip/init.h" | awk '{print $2}').x at .deps/lwip)"
