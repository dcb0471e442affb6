#!/usr/bin/env bash
# Enforces the layer rules of docs/architecture.md with plain greps, so a violation fails CI
# (it runs as the ctest case `layering`). Exit 0 = clean, 1 = violations listed on stderr.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
status=0
report() { echo "layering: $1" >&2; echo "$2" | sed 's/^/    /' >&2; status=1; }

src() { git ls-files -co --exclude-standard -- "$@" 2>/dev/null | grep -E '\.(c|cc|cpp|h|hpp)$'; }

# core/ is sans-IO: no sockets, no threads, no lwIP, no Mbed TLS, no clock reads, no file I/O.
core_files=$(src core)
if [ -n "$core_files" ]; then
    hits=$(echo "$core_files" | xargs grep -nE '#include *[<"](sys/socket|sys/epoll|sys/time|netinet/|arpa/inet|netdb|unistd|fcntl|poll|thread|mutex|condition_variable|future|atomic|fstream|iostream|cstdio|lwip/|mbedtls/|psa/)' 2>/dev/null | grep -v 'cstdio.*snprintf-only' )
    # <cstdio> is allowed only for snprintf formatting in value types: whitelist explicitly.
    hits=$(echo "$hits" | grep -vE '^core/base/ip_address\.cpp:.*cstdio' | grep -v '^$')
    [ -n "$hits" ] && report "core/ must not include I/O, thread, lwIP or Mbed TLS headers" "$hits"
    clock=$(echo "$core_files" | xargs grep -nE '(steady_clock|system_clock|high_resolution_clock|utc_clock)::now|[^a-z_]time\((nullptr|NULL|0)\)|gettimeofday|clock_gettime|getrandom|rand\(\)|srand\(|fopen|std::thread' 2>/dev/null)
    [ -n "$clock" ] && report "core/ must not read clocks, global RNGs, files or start threads" "$clock"
fi

# lwIP is netstack's private business.
lw=$(src core transports proxy tools | xargs -r grep -nE '#include *[<"](lwip/|netif/|arch/)' 2>/dev/null)
[ -n "$lw" ] && report "only netstack/ may include lwIP headers" "$lw"

# netstack knows lwIP but not the proxy or the WireGuard protocol.
ns=$(src netstack | xargs -r grep -nE '#include *"(proxy|core/wg|transports)/' 2>/dev/null)
[ -n "$ns" ] && report "netstack/ must not depend on proxy/, core/wg or transports/" "$ns"

# Nothing below tools/ depends on tools/ (tools/log is the shared logging library and allowed).
up=$(src core netstack transports proxy | xargs -r grep -nE '#include *"tools/' 2>/dev/null | grep -v '"tools/log/')
[ -n "$up" ] && report "only tools/ may include tools/ headers (except tools/log)" "$up"
cl=$(src core | xargs -r grep -nE '#include *"(netstack|transports|proxy|tools)/' 2>/dev/null)
[ -n "$cl" ] && report "core/ must not depend on outer layers" "$cl"

# Mbed TLS only in transports/ (the TLS adapter).
tls=$(src core netstack proxy | xargs -r grep -nE '#include *[<"]mbedtls/' 2>/dev/null)
[ -n "$tls" ] && report "Mbed TLS belongs to transports/ only" "$tls"

[ $status -eq 0 ] && echo "layering: ok"
exit $status
