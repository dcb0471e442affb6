// `tunless genkey` and `tunless pubkey`: the same input/output as `wg genkey` / `wg pubkey`
// (base64 keys, one per line), so scripts written for wg work unchanged.
#pragma once

namespace tunless::cli {

// Prints a fresh clamped private key to stdout. Returns an exit code.
int run_genkey();
// Reads a base64 private key (surrounding whitespace ignored) from stdin and prints its
// public key. Invalid input: message on stderr, exit code 2.
int run_pubkey();

}  // namespace tunless::cli
