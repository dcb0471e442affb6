#!/usr/bin/env bash
# The `tunless` executable end to end: exit codes, --help/--version, up --check with valid
# and invalid configs, and the first-start state directory (0600 config, stable key).
set -u
T=${TUNLESS_BIN:?TUNLESS_BIN not set}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_rc() { local want=$1; shift; "$@" >"$WORK/out" 2>"$WORK/err"; local rc=$?;
    [ "$rc" -eq "$want" ] || { cat "$WORK/out" "$WORK/err"; fail "'$*' exited $rc, expected $want"; }; }

expect_rc 0 "$T" --help
grep -q "Usage: tunless" "$WORK/out" || fail "--help has no usage line"
expect_rc 0 "$T" --version
grep -q "^tunless [0-9]" "$WORK/out" || fail "--version output: $(cat "$WORK/out")"
expect_rc 2 "$T"
expect_rc 2 "$T" frobnicate
expect_rc 2 "$T" up --no-such-option
expect_rc 2 "$T" genkey -c x.conf

key=$("$T" genkey)
pub=$(echo "$key" | "$T" pubkey)
cat > "$WORK/good.conf" <<CONF
[Interface]
PrivateKey = $key
Address = 10.77.0.2/24, fd77::2/64
ListenPort = 51820
PostUp = echo hi

[Peer]
PublicKey = $pub
AllowedIPs = 10.77.0.0/24
Endpoint = 192.168.77.1:51820
CONF
chmod 600 "$WORK/good.conf"
expect_rc 0 "$T" up --check -c "$WORK/good.conf"
# -c FILE with --state-dir DIR: the config from FILE, state (timestamp floor) in DIR.
expect_rc 0 "$T" up --check -c "$WORK/good.conf" --state-dir "$WORK/state-only"
[ "$(cat "$WORK/out")" = "config OK" ] || fail "stdout of --check: $(cat "$WORK/out")"
grep -q "good.conf:5: 'PostUp' is a wg-quick setting" "$WORK/err" || fail "no PostUp warning: $(cat "$WORK/err")"
expect_rc 0 "$T" up --config="$WORK/good.conf" --check -q
grep -q "PostUp" "$WORK/err" || fail "-q must keep warnings: $(cat "$WORK/err")"

printf '[Interface]\nAddress = 10.0.0.1/24\nListenPort = 99999\n[Nope]\n' > "$WORK/bad.conf"
expect_rc 2 "$T" up --check -c "$WORK/bad.conf"
grep -q "bad.conf:1: \[Interface\] has no PrivateKey" "$WORK/err" || fail "missing-key error: $(cat "$WORK/err")"
grep -q "bad.conf:3: ListenPort: port '99999' is out of range" "$WORK/err" || fail "port error: $(cat "$WORK/err")"
grep -q "bad.conf:4: unknown section \[Nope\]" "$WORK/err" || fail "section error: $(cat "$WORK/err")"
expect_rc 2 "$T" up --check -c "$WORK/missing.conf"
grep -q "missing.conf: No such file or directory" "$WORK/err" || fail "missing file: $(cat "$WORK/err")"

# First start without -c: the state directory gets a private config with a fresh key.
state="$WORK/state/nested"
expect_rc 0 "$T" up --check --state-dir "$state"
conf="$state/tunless.conf"
[ -f "$conf" ] || fail "no $conf"
[ "$(stat -c %a "$conf")" = 600 ] || fail "config mode is $(stat -c %a "$conf")"
[ "$(stat -c %a "$state")" = 700 ] || fail "state dir mode is $(stat -c %a "$state")"
grep -q "^Created $conf" "$WORK/out" || fail "no 'Created' line"
node_pub=$(sed -n 's/^Public key: //p' "$WORK/out")
conf_key=$(sed -n 's/^PrivateKey = //p' "$conf")
[ "$(echo "$conf_key" | "$T" pubkey)" = "$node_pub" ] || fail "printed public key does not match the config"
grep -q "^PublicKey = $node_pub" "$WORK/out" || fail "snippet lacks PublicKey"
grep -Eq "^AllowedIPs = 10\.99\.[0-9]+\.[0-9]+/32, fd[0-9a-f:]+::1/128$" "$WORK/out" || fail "snippet AllowedIPs: $(grep AllowedIPs "$WORK/out")"
grep -q "^BindAddress = 127.0.0.1:1080" "$conf" || fail "no default [Socks5] on loopback"
# Second start reuses the file and the key.
expect_rc 0 "$T" up --check --state-dir "$state"
grep -q "^Using $conf" "$WORK/out" || fail "second start did not reuse the config"
[ "$(sed -n 's/^PrivateKey = //p' "$conf")" = "$conf_key" ] || fail "key changed on second start"
echo "PASS"
