#include "tools/tunless/app/timestamp_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "core/base/bytes.hpp"
#include "core/crypto/blake2s.hpp"
#include "tools/log/log.hpp"
#include "tools/tunless/state_dir.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::app {
namespace {

constexpr std::string_view kPrefix = "tai64n ";
constexpr char kHex[] = "0123456789abcdef";

std::string hex(const std::uint8_t* p, std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        s += kHex[p[i] >> 4];
        s += kHex[p[i] & 0xf];
    }
    return s;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

Unexpected errno_failure(const std::string& what) {
    return fail(Errc::kIo, what + ": " + std::strerror(errno));
}

Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_failure("write " + path);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace

std::int64_t tai64n_unix_seconds(const crypto::Tai64n& t) {
    return static_cast<std::int64_t>(load_be64(t.data()) - crypto::kTai64nBase);
}

crypto::Tai64n tai64n_at_unix_seconds(std::int64_t seconds) {
    crypto::Tai64n t{};
    store_be64(t.data(), crypto::kTai64nBase + static_cast<std::uint64_t>(seconds));
    return t;
}

std::string timestamp_file_name(const crypto::PublicKey& pub) {
    std::array<std::uint8_t, 16> digest{};
    crypto::Blake2s h(digest.size());
    h.update(pub.view());
    h.final(MutByteView(digest.data(), digest.size()));
    return "timestamp-" + hex(digest.data(), digest.size());
}

std::string format_timestamp_file(const crypto::Tai64n& t) {
    return std::string(kPrefix) + hex(t.data(), t.size()) + "\n";
}

std::optional<crypto::Tai64n> parse_timestamp_file(std::string_view text) {
    if (text.size() != kPrefix.size() + 24 + 1 || text.substr(0, kPrefix.size()) != kPrefix ||
        text.back() != '\n') {
        return std::nullopt;
    }
    crypto::Tai64n t{};
    for (std::size_t i = 0; i < t.size(); ++i) {
        const int hi = hex_value(text[kPrefix.size() + 2 * i]);
        const int lo = hex_value(text[kPrefix.size() + 2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        t[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return t;
}

std::optional<crypto::Tai64n> next_timestamp_floor(const std::optional<crypto::Tai64n>& stored,
                                                   const crypto::Tai64n& last_sent,
                                                   const crypto::Tai64n& restored) {
    // Nothing sent since start (the device's value is still the restored floor or zero).
    if (!crypto::tai64n_after(last_sent, restored)) return std::nullopt;
    const std::int64_t sent_s = tai64n_unix_seconds(last_sent);
    if (stored && sent_s + kTimestampRefreshMarginSeconds < tai64n_unix_seconds(*stored)) {
        return std::nullopt;
    }
    return tai64n_at_unix_seconds(sent_s + kTimestampLeadSeconds);
}

Result<std::optional<crypto::Tai64n>> load_timestamp_floor(const std::string& path) {
    io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::optional<crypto::Tai64n>{};
        return errno_failure("open " + path);
    }
    std::array<char, 64> buf{};
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) return errno_failure("read " + path);
    auto t = parse_timestamp_file(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    if (!t) return fail(Errc::kInvalidArgument, path + ": not a timestamp file");
    return std::optional<crypto::Tai64n>{*t};
}

Status save_timestamp_floor(const std::string& path, const crypto::Tai64n& floor) {
    const std::string tmp = path + ".tmp";
    io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return errno_failure("create " + tmp);
    if (auto st = write_all(fd.get(), format_timestamp_file(floor), tmp); !st) return st;
    if (::fsync(fd.get()) != 0) return errno_failure("fsync " + tmp);
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_failure("rename " + tmp);
    // The rename itself must reach the disk, or a power cut can bring back the old file.
    const std::string dir = path.substr(0, path.rfind('/'));
    io::UniqueFd dfd(::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd) ::fsync(dfd.get());
    return {};
}

TimestampGuard::TimestampGuard(std::string dir, wg::Device& device)
    : dir_(std::move(dir)), device_(device) {
    restore();
}

void TimestampGuard::restore() {
    key_ = device_.public_key();
    path_ = dir_ + "/" + timestamp_file_name(key_);
    stored_.reset();
    auto loaded = load_timestamp_floor(path_);
    if (!loaded) {
        log::warn("timestamp floor: {} (ignored; a peer may refuse handshakes until the clock "
                  "is right)", loaded.error().message);
    } else if (*loaded) {
        stored_ = **loaded;
        device_.set_timestamp_floor(*stored_);
        log::info("timestamp floor: restored {} from {}", tai64n_unix_seconds(*stored_), path_);
    }
    restored_ = device_.last_sent_timestamp();
}

void TimestampGuard::check() {
    if (!(device_.public_key() == key_)) restore();  // private key replaced by a reload
    auto floor = next_timestamp_floor(stored_, device_.last_sent_timestamp(), restored_);
    if (!floor) return;
    if (auto st = save_timestamp_floor(path_, *floor); !st) {
        if (!write_failed_logged_) log::warn("timestamp floor: {}", st.error().message);
        write_failed_logged_ = true;
        return;
    }
    write_failed_logged_ = false;
    stored_ = *floor;
    ++writes_;
    log::debug("timestamp floor: stored {}", tai64n_unix_seconds(*floor));
}

std::string timestamp_state_dir(const std::string& configured) {
    if (!configured.empty()) {
        if (auto st = cli::ensure_state_dir(configured); !st) {
            log::warn("state directory {}: {}: handshake timestamps are not persisted",
                      configured, st.error().message);
            return {};
        }
        return configured;
    }
    auto dir = cli::pick_state_dir(cli::current_state_dir_env(std::nullopt));
    if (dir && cli::ensure_state_dir(*dir)) return *dir;
    log::warn("no writable state directory: handshake timestamps are not persisted, so after a "
              "clock reset peers refuse our handshakes until the clock is right (--state-dir)");
    return {};
}

WallTime OffsetWallClock::now() {
    WallTime t = base_.now();
    t.seconds += offset_s_;
    return t;
}

std::int64_t test_wall_offset_from_env() {
    const char* v = std::getenv("TUNLESS_TEST_WALL_OFFSET_S");
    if (v == nullptr) return 0;
    std::int64_t out = 0;
    const char* end = v + std::strlen(v);
    auto [p, ec] = std::from_chars(v, end, out);
    if (ec != std::errc() || p != end) return 0;
    log::warn("TUNLESS_TEST_WALL_OFFSET_S={}: wall clock shifted (test only)", out);
    return out;
}

}  // namespace tunless::app
