#include "tools/tunless/key_commands.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/base/rng.hpp"
#include "core/crypto/secret.hpp"
#include "core/crypto/x25519.hpp"
#include "tools/tunless/exit_codes.hpp"

namespace tunless::cli {
namespace {

bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// A key is 44 characters; anything much longer is not a key (bounded read).
constexpr std::size_t kMaxKeyInput = 1024;

}  // namespace

int run_genkey() {
    // Like wg: warn when the key is about to land in a file others can read.
    struct stat st {};
    if (::fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) != 0) {
        std::fputs("Warning: writing to world accessible file.\n", stderr);
    }
    SystemRng rng;
    const crypto::PrivateKey key = crypto::generate_private_key(rng);
    std::string text = crypto::key_to_base64(key.view()) + "\n";
    const bool ok = write_all(STDOUT_FILENO, text);
    crypto::secure_wipe(text.data(), text.size());
    return ok ? kExitOk : kExitRuntime;
}

int run_pubkey() {
    std::string input;
    char buf[256];
    while (input.size() <= kMaxKeyInput) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        input.append(buf, static_cast<std::size_t>(n));
    }
    crypto::secure_wipe(buf, sizeof buf);
    std::string_view text = input;
    while (!text.empty() &&
           std::string_view(" \t\r\n").find(text.back()) != std::string_view::npos) {
        text.remove_suffix(1);
    }
    while (!text.empty() &&
           std::string_view(" \t\r\n").find(text.front()) != std::string_view::npos) {
        text.remove_prefix(1);
    }
    auto raw = crypto::key_from_base64(text);
    crypto::secure_wipe(input.data(), input.size());
    if (!raw) {
        std::fputs("pubkey: Key is not the correct length or format\n", stderr);
        return kExitUsage;
    }
    const crypto::PrivateKey priv(ByteView(raw->data(), raw->size()));
    crypto::secure_wipe(raw->data(), raw->size());
    const crypto::PublicKey pub = crypto::public_key_from_private(priv);
    return write_all(STDOUT_FILENO, crypto::key_to_base64(pub.view()) + "\n") ? kExitOk
                                                                              : kExitRuntime;
}

}  // namespace tunless::cli
