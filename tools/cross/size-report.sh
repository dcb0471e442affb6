#!/usr/bin/env bash
# Prints the flash cost of an executable from a size-profile build (TUNLESS_SIZE_OPT=ON, which
# writes <build>/maps/<target>.map): stripped file size against a limit, the shared libraries
# it still needs on the device, and a per-component breakdown (tools/cross/map_sizes.py).
# Usage: tools/cross/size-report.sh [--limit BYTES] [BUILD_DIR [TARGET]]
#   BUILD_DIR defaults to build-armhf-static, TARGET to tunless. Exit 1 if the stripped file
#   exceeds --limit, 2 if the executable or its map is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

limit=0
if [ "${1:-}" = "--limit" ]; then limit=$2; shift 2; fi
build=${1:-$top/build-armhf-static}
target=${2:-tunless}

exe=$(find "$build" -path "$build/CMakeFiles" -prune -o -type f -name "$target" -perm -u+x -print |
      head -n 1)
map="$build/maps/$target.map"
if [ -z "$exe" ] || [ ! -f "$map" ]; then
    echo "size-report: no executable '$target' with a map in $build (configure with -DTUNLESS_SIZE_OPT=ON)" >&2
    exit 2
fi

# The build's own binutils (cross or native), as CMake found them.
cache_tool() { sed -n "s/^CMAKE_$1:FILEPATH=//p" "$build/CMakeCache.txt"; }
strip_tool=$(cache_tool STRIP); strip_tool=${strip_tool:-strip}
size_tool=${strip_tool%strip}size

tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
"$strip_tool" -o "$tmp" "$exe"
stripped=$(stat -c %s "$tmp")

echo "== size report: ${exe#"$top"/}"
echo "   $(file -b "$exe" | cut -d, -f1-2,4 | sed 's/BuildID.*//')"
printf "   stripped file: %d bytes" "$stripped"
if [ "$limit" -gt 0 ]; then
    printf " (limit %d, %d%% used)" "$limit" $((stripped * 100 / limit))
fi
echo
"$size_tool" "$tmp" | sed 's/^/   /'

needed=$(readelf -d "$exe" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
if [ -n "$needed" ]; then
    # The newest symbol version decides the oldest device glibc that can load the binary.
    glibc=$(readelf -V "$exe" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
    echo "   dynamic: needs $needed(device glibc >= ${glibc#GLIBC_})"
    # Libraries the device probably lacks (anything but glibc's own) add to the flash bill.
    for lib in $needed; do
        case "$lib" in libc.so*|libm.so*|ld-linux*|libpthread.so*|libdl.so*|librt.so*) continue ;; esac
        f=$(find /usr/lib/*-linux-gnu* /usr/*-linux-gnu*/lib /lib/*-linux-gnu* -maxdepth 1 \
            -name "$lib" 2>/dev/null | grep -v x86_64 | head -n 1 || true)
        [ -n "$f" ] && printf "     + %-24s %10d bytes on the device (from %s)\n" "$lib" \
            "$(stat -L -c %s "$f")" "$(dirname "$f")"
    done
else
    echo "   static: no shared libraries needed"
fi
python3 "$here/map_sizes.py" "$map" "$stripped"

if [ "$limit" -gt 0 ] && [ "$stripped" -gt "$limit" ]; then
    echo "size-report: FAIL: $target is $stripped bytes stripped, over the $limit byte limit" >&2
    exit 1
fi
