#include "tools/tunless/app/tailnet_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/crypto/secret.hpp"
#include "core/crypto/x25519.hpp"
#include "core/tailnet/keys.hpp"
#include "tools/tunless/config_file.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::app {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 256;   // one 72-character line
constexpr std::size_t kMaxAuthKeyFileBytes = 4096;

Error errno_failure(const std::string& what) {
    return make_error(Errc::kIo, what + ": " + std::strerror(errno));
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\r\n\f\v";
    const auto b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) {
        return {};
    }
    return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// A key file other users can reach is refused, as ssh refuses such private keys: the node
// key lets anyone impersonate this node on the tailnet.
Status check_key_file_mode(const std::string& path, const struct stat& st) {
    if (!S_ISREG(st.st_mode)) {
        return fail(Errc::kInvalidArgument, path + ": not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return fail(Errc::kRefused,
                    path + ": permissions " + mode +
                        " are too open: a key file must be accessible by its owner only "
                        "(chmod 600 " + path + ")");
    }
    return {};
}

// nullopt: the file does not exist.
Result<std::optional<crypto::PrivateKey>> load_key_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return std::optional<crypto::PrivateKey>{};
        }
        return errno_failure(path);
    }
    if (Status ok = check_key_file_mode(path, st); !ok) {
        return ok.error();
    }
    auto text = cli::read_text_file(path, kMaxKeyFileBytes);
    if (!text) {
        return text.error();
    }
    auto raw = tailnet::key_from_text(tailnet::KeyKind::kPrivate, trim(*text));
    crypto::secure_wipe(text->data(), text->size());
    if (!raw || crypto::is_all_zero(ByteView(raw->data(), raw->size()))) {
        return fail(Errc::kInvalidArgument,
                    path + ": not a key file (expected one line 'privkey:' and 64 hex digits); "
                           "move it away to create a new key (the node then registers as a new "
                           "machine)");
    }
    crypto::PrivateKey key(ByteView(raw->data(), raw->size()));
    crypto::secure_wipe(raw->data(), raw->size());
    return std::optional<crypto::PrivateKey>(std::move(key));
}

// Temp file (O_EXCL, 0600, fsync) renamed over `path`, then the directory synced: after a
// power cut the file holds the old key or the new one, never a torn line.
Status save_key_file(const std::string& dir, const std::string& path,
                     const crypto::PrivateKey& key) {
    const std::string tmp = path + ".tmp";
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {  // left over from a crash
        return errno_failure(tmp);
    }
    std::string text = tailnet::key_to_text(tailnet::KeyKind::kPrivate, key.view()) + "\n";
    Status written = cli::write_new_private_file(tmp, text);
    crypto::secure_wipe(text.data(), text.size());
    if (!written) {
        return written;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        Error e = errno_failure("rename " + tmp);
        ::unlink(tmp.c_str());
        return e;
    }
    io::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd || ::fsync(dfd.get()) != 0) {
        return errno_failure("fsync " + dir);
    }
    return {};
}

Status remove_key_file(const std::string& dir, const std::string& path) {
    if (::unlink(path.c_str()) != 0) {
        return errno == ENOENT ? Status{} : Status(errno_failure(path));
    }
    io::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd) {
        ::fsync(dfd.get());
    }
    return {};
}

// The key in `path`, or a new one written there. `created` tells which.
Result<crypto::PrivateKey> load_or_create_key(const std::string& dir, const std::string& path,
                                              Rng& rng, bool& created) {
    auto loaded = load_key_file(path);
    if (!loaded) {
        return loaded.error();
    }
    created = !loaded->has_value();
    if (!created) {
        return std::move(**loaded);
    }
    crypto::PrivateKey key = crypto::generate_private_key(rng);  // clamped, as key.NewNode
    if (Status st = save_key_file(dir, path, key); !st) {
        return st.error();
    }
    return key;
}

}  // namespace

Result<TailnetKeys> TailnetKeys::load_or_create(const std::string& dir, Rng& rng) {
    TailnetKeys k;
    k.dir_ = dir;
    bool node_created = false;
    auto machine = load_or_create_key(dir, dir + "/" + kMachineKeyFile, rng, k.machine_created_);
    if (!machine) {
        return machine.error();
    }
    auto node = load_or_create_key(dir, dir + "/" + kNodeKeyFile, rng, node_created);
    if (!node) {
        return node.error();
    }
    const std::string old_path = dir + "/" + kOldNodeKeyFile;
    auto old = load_key_file(old_path);
    if (!old) {
        return old.error();
    }
    k.machine_ = std::move(*machine);
    k.machine_public_ = crypto::public_key_from_private(k.machine_);
    k.node_ = std::move(*node);
    k.node_public_ = crypto::public_key_from_private(k.node_);
    if (old->has_value()) {
        const crypto::PublicKey old_public = crypto::public_key_from_private(**old);
        if (old_public == k.node_public_ || node_created) {
            // A rotation stopped before the new node key was written, or the node key was
            // lost: there is nothing to rotate from.
            if (Status st = remove_key_file(dir, old_path); !st) {
                return st.error();
            }
        } else {
            k.old_node_public_ = old_public;
        }
    }
    k.disco_ = crypto::generate_private_key(rng);
    k.disco_public_ = crypto::public_key_from_private(k.disco_);
    return k;
}

Status TailnetKeys::rotate_node_key(Rng& rng) {
    crypto::PrivateKey next = crypto::generate_private_key(rng);
    // Old first: if the second write fails, the old file equals the node key and
    // load_or_create() discards it.
    if (Status st = save_key_file(dir_, dir_ + "/" + kOldNodeKeyFile, node_); !st) {
        return st;
    }
    if (Status st = save_key_file(dir_, dir_ + "/" + kNodeKeyFile, next); !st) {
        return st;
    }
    old_node_public_ = node_public_;
    node_ = std::move(next);
    node_public_ = crypto::public_key_from_private(node_);
    return {};
}

Status TailnetKeys::forget_old_node_key() {
    if (Status st = remove_key_file(dir_, dir_ + "/" + kOldNodeKeyFile); !st) {
        return st;
    }
    old_node_public_.reset();
    return {};
}

Result<std::string> read_auth_key(const cfg::AuthKeySource& source) {
    switch (source.kind) {
        case cfg::AuthKeySource::Kind::kNone: return std::string();
        case cfg::AuthKeySource::Kind::kLiteral: return source.value;
        case cfg::AuthKeySource::Kind::kFile: break;
    }
    auto text = cli::read_text_file(source.value, kMaxAuthKeyFileBytes);
    if (!text) {
        return fail(text.error().code, "AuthKey file " + text.error().message);
    }
    std::string key(trim(*text));
    crypto::secure_wipe(text->data(), text->size());
    if (key.empty()) {
        return fail(Errc::kInvalidArgument, "AuthKey file " + source.value + " is empty");
    }
    if (key.find_first_of(" \t\r\n") != std::string::npos) {
        crypto::secure_wipe(key.data(), key.size());
        return fail(Errc::kInvalidArgument,
                    "AuthKey file " + source.value + ": expected one key without spaces");
    }
    return key;
}

}  // namespace tunless::app
