#!/usr/bin/env python3
"""Breaks an executable's size down by component, from the GNU ld map (-Wl,-Map) that the
size profile (tools/cmake/tunless_size.cmake) writes. Called by tools/cross/size-report.sh;
prints a table. It reads only the map: totals of the stripped file come from the caller.

Attribution: every input section is charged to the archive or object it came from (libc.a,
libsodium.a, our libtunless_*.a, ...). LTO hides the origin of our own code and lwIP's (both
arrive as ltrans objects), so there the section's symbol decides: C++ names in namespace tunless
are ours, charged to a folder by their namespace (tunless::net -> netstack, tunless::io ->
transports, ...), other C++ names go to the library they name, plain C names are lwIP's (this
includes our few extern "C" lwIP port hooks such as sys_now).
"""
import re
import sys
from collections import defaultdict

# Output sections that never reach the device (strip removes them).
NON_ALLOC = re.compile(r"^\.(debug|comment|ARM\.attributes|stab|gnu\.attributes|gnu_debuglink"
                       r"|note\.gnu\.gold|symtab|strtab|shstrtab)")
NOBITS = re.compile(r"^\.(bss|tbss|sbss|noinit)\b")
SECTION_PREFIX = re.compile(r"^\.(text|rodata|data\.rel\.ro|data|bss|tbss|tdata|ARM\.exidx"
                            r"|ARM\.extab|gcc_except_table)(\.text)?(\.(unlikely|hot|startup|"
                            r"exit|local))?\.")

LIBS = [  # (regex on the archive/object file name, component)
    (r"libsodium\.a$", "libsodium"),
    (r"libmbed\w*\.a$", "Mbed TLS"),
    (r"libfmt\.a$", "fmt"),
    (r"lib(std|sup)c\+\+\.a$", "libstdc++/libgcc"),
    (r"(libgcc(_eh)?\.a|crtbegin\w*\.o|crtend\w*\.o)$", "libstdc++/libgcc"),
    (r"(lib(c|m|pthread|dl|rt|resolv|c_nonshared)\.a|[Sr]?crt[1in]\.o)$", "libc"),
    (r"liblwip\w*\.a$", "lwIP"),
]
OUR_DIRS = ("core", "netstack", "transports", "proxy", "tools", "tests")
# tunless::<namespace> -> folder (conventions.md); names directly in tunless:: are core/base's.
NAMESPACE_DIRS = {"crypto": "core", "wg": "core", "cfg": "core", "net": "netstack",
                  "io": "transports", "proxy": "proxy", "app": "tools", "cli": "tools",
                  "log": "tools"}


def component_of_symbol(section):
    """Component of an LTO-merged section, from the symbol in its name."""
    sym = SECTION_PREFIX.sub("", section, count=1)
    if sym == section or re.match(r"^\.(rodata|data|bss)(\.str|\.cst|\.CSWTCH|$)", section):
        return "ours+lwIP constants (LTO-merged)"
    sym = re.sub(r"\.(str\d|cst\d|lto_priv|isra|constprop|part|cold)\b.*$", "", sym)
    if re.match(r"^(main|_sub_[ID]_|_GLOBAL__|__tls_(init|guard))", sym):
        return "ours: tools"
    if not sym.startswith("_Z"):
        return "lwIP"
    m = re.search(r"7tunless(\d+)", sym)
    if m:  # the namespace after tunless:: names the layer
        start = m.end()
        ns = sym[start:start + int(m.group(1))]
        return "ours: " + NAMESPACE_DIRS.get(ns, "core")
    if re.search(r"3fmt2v\d|N3fmt", sym):
        return "fmt"
    if "7doctest" in sym:
        return "doctest (tests only)"
    if re.match(r"_Z(N|NK|Z|TV|TI|TS|GV|TH|TW)?S", sym) or "9__gnu_cxx" in sym:
        return "libstdc++ templates (in our code)"
    return "ours: other C++ (LTO)"


def component_of(path, section):
    """Component for one input section, from the object file (or archive member) it came from."""
    if "ltrans" in path:
        return component_of_symbol(section)
    if path in ("linker stubs", "") or path.startswith("*"):
        return "linker-generated"
    archive, member = path, ""
    m = re.match(r"^(.*)\((.*)\)$", path)
    if m:
        archive, member = m.group(1), m.group(2)
    for rx, comp in LIBS:
        if re.search(rx, archive):
            return comp
    parts = archive.replace("\\", "/").split("/")
    if member.endswith(".c.o") and ("netstack" in parts or "lwip" in archive.lower()):
        return "lwIP"
    for d in OUR_DIRS:
        if d in parts:
            return "tests (not shipped)" if d == "tests" else "ours: " + d
    if re.search(r"CMakeFiles/[^/]+\.dir/", archive):
        return "ours: executable's own objects"
    return "other: " + (parts[-1] if parts else path)


def parse(map_path):
    sizes = defaultdict(lambda: [0, 0])  # component -> [file bytes, bss bytes]
    out_sec, pending, started = None, None, False
    in_line = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.*?)\s*$")
    with open(map_path, errors="replace") as f:
        for line in f:
            if not started:
                started = line.startswith("Linker script and memory map")
                continue
            if line.startswith("/DISCARD/") or line.startswith("OUTPUT("):
                break
            m = re.match(r"^(\.\S+|COMMON)", line)
            if m:
                out_sec, pending = m.group(1), None
                continue
            if out_sec is None or NON_ALLOC.match(out_sec):
                continue
            m = in_line.match(line)
            if m and (m.group(1) or pending):
                name = m.group(1) or pending
                pending = None
                if name == "*fill*":
                    comp = "alignment padding"
                else:
                    if name.startswith("*"):  # a bare "*(pattern)" line
                        continue
                    comp = component_of(m.group(4), name)
                size = int(m.group(3), 16)
                sizes[comp][1 if NOBITS.match(out_sec) else 0] += size
                continue
            m = re.match(r"^ (\S+)\s*$", line)
            pending = m.group(1) if m and not m.group(1).startswith("*(") else None
    return sizes


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: map_sizes.py MAP [STRIPPED_FILE_BYTES]")
    sizes = parse(sys.argv[1])
    total = sum(v[0] for v in sizes.values())
    stripped = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    rows = sorted(sizes.items(), key=lambda kv: -kv[1][0])
    print(f"  {'component':<38} {'flash bytes':>12} {'%':>6} {'RAM (.bss)':>11}")
    for comp, (fbytes, bss) in rows:
        if fbytes == 0 and bss == 0:
            continue
        pct = 100.0 * fbytes / (stripped or total or 1)
        print(f"  {comp:<38} {fbytes:>12,} {pct:>5.1f}% {bss:>11,}")
    if stripped:
        rest = stripped - total
        print(f"  {'ELF headers etc. (- merged strings)':<38} {rest:>12,} "
              f"{100.0 * rest / stripped:>5.1f}%")
        print(f"  {'= stripped file':<38} {stripped:>12,}")
    else:
        print(f"  {'= sum of sections':<38} {total:>12,}")


if __name__ == "__main__":
    main()
