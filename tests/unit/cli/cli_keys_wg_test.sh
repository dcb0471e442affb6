#!/usr/bin/env bash
# `tunless genkey`/`tunless pubkey` against wireguard-tools' `wg`: keys from either tool give
# the same public key in both, and both reject the same malformed inputs.
set -u
T=${TUNLESS_BIN:?TUNLESS_BIN not set}
command -v wg >/dev/null || { echo "SKIP: wg (wireguard-tools) not installed"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

for i in $(seq 1 20); do
    k=$(wg genkey)
    [ "$(echo "$k" | "$T" pubkey)" = "$(echo "$k" | wg pubkey)" ] || fail "pubkey of wg genkey key $k differs"
    k=$("$T" genkey)
    [ ${#k} -eq 44 ] || fail "genkey printed '${k}', not a 44-character key"
    [ "$(echo "$k" | "$T" pubkey)" = "$(echo "$k" | wg pubkey)" ] || fail "pubkey of tunless genkey key $k differs"
done

# An unclamped key: both clamp before scalar multiplication (RFC 7748 §5).
k=$(printf '\377%.0s' $(seq 1 32) | base64)
[ "$(echo "$k" | "$T" pubkey)" = "$(echo "$k" | wg pubkey)" ] || fail "unclamped key: results differ"
# Input without a trailing newline and with surrounding blanks.
k=$(wg genkey)
[ "$(printf '%s' "$k" | "$T" pubkey)" = "$(echo "$k" | wg pubkey)" ] || fail "no-newline input differs"

for bad in "" "abc" "$(wg genkey | cut -c1-43)" "$(wg genkey)x" "uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1R="; do
    echo "$bad" | wg pubkey >/dev/null 2>&1 && wg_ok=1 || wg_ok=0
    echo "$bad" | "$T" pubkey >/dev/null 2>&1 && t_ok=1 || t_ok=0
    [ "$wg_ok" = "$t_ok" ] || fail "input '$bad': wg accepted=$wg_ok, tunless accepted=$t_ok"
done
echo "PASS"
