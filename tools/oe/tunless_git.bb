# OpenEmbedded/Yocto recipe for tunless: a userspace-only WireGuard mesh node (no tun device)
# with lwIP inside the process. Builds the `tunless` executable only (no tests) with the size
# profile; see docs/embedded.md for the reasoning behind each option.
#
# Needs: a layer set providing libsodium (meta-oe), mbedtls (meta-networking) and fmt
# (meta-oe), and a GCC that compiles C++20 (GCC >= 11; Yocto kirkstone or newer). Older
# OE-based vendor SDKs (QuecOpen EC2x/AG35) cannot build it: use the fully static Debian build.
#
# Copy this file into a layer of yours (recipes-connectivity/tunless/) and set TUNLESS_SRC_URI
# (and, for a pinned build, SRCREV_tunless) in a .bbappend or local.conf.

SUMMARY = "Userspace WireGuard mesh node with an in-process TCP/IP stack and SOCKS5/HTTP proxy"
SECTION = "net"
# The project has not picked its license yet; set LICENSE and LIC_FILES_CHKSUM when it does.
# lwIP (fetched below, linked in statically) is BSD-3-Clause.
LICENSE = "CLOSED & BSD-3-Clause"
LIC_FILES_CHKSUM = "file://${WORKDIR}/lwip/COPYING;md5=59a383b05013356e0c9899b06dc5da3f"

TUNLESS_SRC_URI ?= "git://git.example.invalid/tunless.git;protocol=https;branch=main"

# lwIP: the project never vendors it (tools/setup.sh fetches Debian's source package for
# host builds). Here BitBake fetches upstream's 2.1.3 release into ${WORKDIR}/lwip and
# TUNLESS_LWIP_DIR points the build at it; the build compiles only the files it needs, with
# the project's own netstack/port/lwipopts.h. To use a vendor SDK's lwIP instead, replace this
# entry and the -DTUNLESS_LWIP_DIR below.
SRC_URI = "${TUNLESS_SRC_URI};name=tunless \
           git://git.savannah.nongnu.org/lwip.git;protocol=https;branch=STABLE-2_1_x;name=lwip;destsuffix=lwip \
           "
SRCREV_tunless ?= "${AUTOREV}"
# Tag STABLE-2_1_3_RELEASE
SRCREV_lwip = "6ca936f6b588cee702c638eee75c2436e6cf75de"
SRCREV_FORMAT = "tunless_lwip"

PV = "0.1+git${SRCPV}"
S = "${WORKDIR}/git"

# patch-native: netstack/CMakeLists.txt applies netstack/patches/*.patch to copies of lwIP files.
DEPENDS = "libsodium mbedtls fmt patch-native"

inherit cmake pkgconfig

# TUNLESS_STRIP=OFF: the image build strips and splits debug info itself (an executable
# stripped at link time fails the "already-stripped" QA check and leaves -dbg empty).
EXTRA_OECMAKE = " \
    -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DTUNLESS_BUILD_TESTS=OFF \
    -DTUNLESS_LWIP_DIR=${WORKDIR}/lwip \
    -DTUNLESS_SIZE_OPT=ON \
    -DTUNLESS_STRIP=OFF \
"

# static: link libsodium, Mbed TLS and libstdc++ into the binary (fmt header-only), so the
# image needs none of their shared libraries; the layers must then build the .a files
# (e.g. DISABLE_STATIC:pn-libsodium = "").
PACKAGECONFIG ??= ""
PACKAGECONFIG[static] = "-DTUNLESS_STATIC_DEPS=ON -DTUNLESS_STATIC_LIBSTDCXX=ON,-DTUNLESS_STATIC_DEPS=OFF"

# The project's CMake has no install rules for the daemon yet; install the one file it needs.
do_install() {
    install -d ${D}${bindir}
    install -m 0755 ${B}/tools/tunless/tunless ${D}${bindir}/tunless
}

FILES:${PN} = "${bindir}/tunless"
