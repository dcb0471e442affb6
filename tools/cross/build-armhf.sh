#!/usr/bin/env bash
# Configures and builds tunless for 32-bit ARM (armhf) with Debian's cross compiler, then prints
# the size report. Incremental: a second run rebuilds only what changed. Needs
# tools/cross/setup-armhf.sh (cross toolchain, armhf -dev packages) and tools/setup.sh (lwIP).
#
# Usage: tools/cross/build-armhf.sh [--dynamic|--dev] [--build-dir DIR]
#                                   [--toolchain FILE] [TARGET...] [-- CMAKE_ARGS...]
#   (default)  the module binary (docs/quecopen.md), in build-armhf-static: MinSizeRel,
#   or --static TUNLESS_SIZE_OPT (gc-sections, LTO, -s, link maps), TUNLESS_FULLY_STATIC: one
#              file that runs on any ARMv7 Linux, hard-float or soft-float (QuecOpen)
#              userland, whatever its glibc.
#   --dynamic  the same size options with only glibc (>= 2.34, Debian 12's symbol versions)
#              taken from a hard-float device; libsodium, Mbed TLS, fmt and libstdc++ linked
#              in. In build-armhf-size.
#   --dev      plain cross build (RelWithDebInfo, shared libraries, no LTO) in build-armhf:
#              the developers' native flags, for 32-bit ARM.
#   TARGET...  build only these targets (default: all).
#   TUNLESS_SIZE_LIMIT (default 1000000) is the stripped-size budget the report checks
#   (0: report only); exit status 1 when `tunless` exceeds it.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

profile=static
build=""
toolchain="$top/tools/cmake/toolchain-armhf.cmake"
targets=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dev) profile=dev ;;
        --static) profile=static ;;
        --dynamic) profile=size ;;
        --build-dir) build=$2; shift ;;
        --toolchain) toolchain=$2; shift ;;
        --) shift; extra=("$@"); break ;;
        -*) echo "build-armhf: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done

case "$profile" in
    dev)
        build=${build:-$top/build-armhf}
        opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    size)
        build=${build:-$top/build-armhf-size}
        opts=(-DCMAKE_BUILD_TYPE=MinSizeRel -DTUNLESS_SIZE_OPT=ON -DTUNLESS_STATIC_DEPS=ON
              -DTUNLESS_STATIC_LIBSTDCXX=ON -DTUNLESS_FULLY_STATIC=OFF) ;;
    static)
        build=${build:-$top/build-armhf-static}
        opts=(-DCMAKE_BUILD_TYPE=MinSizeRel -DTUNLESS_SIZE_OPT=ON -DTUNLESS_FULLY_STATIC=ON) ;;
esac

t0=$(date +%s)
# Options are passed on every run, so an existing build directory follows this script;
# only a change of toolchain needs a fresh directory (CMake refuses to switch compilers).
mkdir -p "$build"
# The tailnet client (nghttp2, RapidJSON, Mbed TLS) is not in the 1 MB device profile yet:
# its armhf dependencies and size budget are still open (docs/tailnet.md).
cmake -S "$top" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" "${opts[@]}" -DTUNLESS_TAILNET=OFF \
      ${extra[@]+"${extra[@]}"} >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
t1=$(date +%s)
target_args=()
for t in ${targets[@]+"${targets[@]}"}; do target_args+=(--target "$t"); done
cmake --build "$build" -j"${TUNLESS_JOBS:-2}" ${target_args[@]+"${target_args[@]}"}
t2=$(date +%s)
echo "build-armhf: $profile profile in ${build#"$top"/}: configure $((t1 - t0)) s, build $((t2 - t1)) s"

[ "$profile" = dev ] && exit 0
if [ -f "$build/maps/tunless.map" ]; then
    "$top/tools/cross/size-report.sh" --limit "${TUNLESS_SIZE_LIMIT:-1000000}" "$build" tunless
else
    echo "build-armhf: no tunless executable yet; stripped sizes of the executables built:"
    for m in "$build"/maps/*.map; do
        [ -f "$m" ] || continue
        name=$(basename "$m" .map)
        exe=$(find "$build" -type f -name "$name" -perm -u+x | head -n 1)
        [ -n "$exe" ] && printf "  %-28s %10d bytes\n" "$name" "$(stat -c %s "$exe")"
    done
    echo "  (breakdown: tools/cross/size-report.sh ${build#"$top"/} <name>)"
fi
