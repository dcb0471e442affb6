// The tailnet node's key store in the state directory: the machine key (the node's identity
// to control; headscale binds the registration to it) and the node key (the WireGuard and DERP
// key) persist across restarts, the disco key is fresh at every start (as Go's magicsock does).
// One file per key, "privkey:<64 hex>\n", mode 0600, replaced atomically. Also reads the
// [Tailnet] AuthKey. Called by the tailnet daemon at `tunless up` (tools/ only: file I/O).
#pragma once

#include <optional>
#include <string>

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/config/config.hpp"
#include "core/crypto/keys.hpp"

namespace tunless::app {

inline constexpr const char* kMachineKeyFile = "tailnet-machine.key";
inline constexpr const char* kNodeKeyFile = "tailnet-node.key";
// The node key before the last rotation, until control accepted the new one (Go persists it
// as persist.Persist.OldPrivateNodeKey): a restart in between still sends OldNodeKey.
inline constexpr const char* kOldNodeKeyFile = "tailnet-node-old.key";

class TailnetKeys {
public:
    // Loads DIR's key files, creating the missing machine/node key. Refuses (error naming the
    // file and the fix) a key file that is malformed, not a regular file, or has any group or
    // other permission bit (like ssh with private keys). DIR must exist (ensure_state_dir).
    static Result<TailnetKeys> load_or_create(const std::string& dir, Rng& rng);

    const crypto::PrivateKey& machine_private() const { return machine_; }
    const crypto::PublicKey& machine_public() const { return machine_public_; }
    const crypto::PrivateKey& node_private() const { return node_; }
    const crypto::PublicKey& node_public() const { return node_public_; }
    const crypto::PrivateKey& disco_private() const { return disco_; }
    const crypto::PublicKey& disco_public() const { return disco_public_; }
    // The RegisterRequest's OldNodeKey: set after rotate_node_key() until
    // forget_old_node_key().
    const std::optional<crypto::PublicKey>& old_node_public() const { return old_node_public_; }
    // True when this load created the machine key: a first registration.
    bool machine_key_created() const { return machine_created_; }

    // Control answered NodeKeyExpired (protocol notes §2.3): a new node key, persisted; the
    // current one becomes the old key. On error the keys in memory are unchanged.
    Status rotate_node_key(Rng& rng);
    // Control accepted the current node key: the old one is no longer needed.
    Status forget_old_node_key();

private:
    TailnetKeys() = default;

    std::string dir_;
    crypto::PrivateKey machine_;
    crypto::PublicKey machine_public_;
    crypto::PrivateKey node_;
    crypto::PublicKey node_public_;
    crypto::PrivateKey disco_;
    crypto::PublicKey disco_public_;
    std::optional<crypto::PublicKey> old_node_public_;
    bool machine_created_ = false;
};

// The pre-auth key of [Tailnet] AuthKey: the literal, or the contents of the "file:" path with
// surrounding whitespace trimmed. Empty when the config has none (interactive login). Errors
// name the file, never its contents. The caller should wipe the string after use.
Result<std::string> read_auth_key(const cfg::AuthKeySource& source);

}  // namespace tunless::app
