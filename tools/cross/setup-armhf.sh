#!/usr/bin/env bash
# Installs what the armhf cross build and its qemu-user test run need on Debian 12: the
# crossbuild-essential-armhf toolchain, qemu-user (qemu-arm), and the armhf multiarch -dev
# packages of our libraries. Idempotent: a second run only checks. Not for vendor SDK builds
# (those bring their own sysroot; see docs/embedded.md). Usage: tools/cross/setup-armhf.sh
set -euo pipefail

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
apt_get() { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# doctest-dev is Architecture: all (headers + CMake config under /usr/lib/cmake), so the host's
# copy serves the cross build too. qemu-user-binfmt is left out on purpose: binfmt_misc is often
# unavailable in containers, and our scripts call qemu-arm explicitly.
# libc6:armhf (the multiarch glibc, also pulled in by the -dev packages) is what qemu-arm runs
# dynamic test executables against; see test-armhf.sh.
pkgs=(crossbuild-essential-armhf qemu-user cmake pkg-config doctest-dev libc6:armhf
      libsodium-dev:armhf libmbedtls-dev:armhf libfmt-dev:armhf)

added_arch=0
if ! dpkg --print-foreign-architectures | grep -qx armhf; then
    echo "setup-armhf: dpkg --add-architecture armhf"
    $sudo_cmd dpkg --add-architecture armhf
    added_arch=1
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-armhf: ok (all ${#pkgs[@]} packages present)"
    exit 0
fi

# The armhf package lists appear only after an update that follows --add-architecture; also
# update when a wanted armhf package is unknown to the current lists.
if [ "$added_arch" = 1 ] || ! apt-cache show libsodium-dev:armhf >/dev/null 2>&1; then
    echo "setup-armhf: apt-get update"
    # A mirror mid-sync can fail one index (seen here: bookworm-security binary-armhf); the
    # install below still works from the other lists, so do not stop on update errors.
    apt_get update -qq || echo "setup-armhf: warning: apt-get update reported errors, continuing"
fi
echo "setup-armhf: installing ${missing[*]}"
apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-armhf: ok"
