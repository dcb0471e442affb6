#include "tools/tunless/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/crypto/secret.hpp"
#include "transports/unique_fd.hpp"

namespace tunless::cli {

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
    io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return fail(Errc::kIo, path + ": " + std::strerror(errno));
    }
    std::string out;
    char buf[4096];
    while (true) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail(Errc::kIo, path + ": " + std::strerror(errno));
        }
        if (n == 0) {
            return out;
        }
        if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
            return fail(Errc::kLimitReached,
                        path + ": larger than " + std::to_string(max_bytes) + " bytes");
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

Status write_new_private_file(const std::string& path, std::string_view content) {
    io::UniqueFd fd(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        const int err = errno;
        return fail(err == EEXIST ? Errc::kAlreadyExists : Errc::kIo,
                    path + ": " + std::strerror(err));
    }
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int err = errno;
            ::unlink(path.c_str());
            return fail(Errc::kIo, path + ": " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
        const int err = errno;
        ::unlink(path.c_str());
        return fail(Errc::kIo, path + ": fsync: " + std::strerror(err));
    }
    return {};
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_group_or_world_readable(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

cfg::ParseReport load_config(const std::string& path, const cfg::ParseOptions& options) {
    auto text = read_text_file(path);
    if (!text) {
        cfg::ParseReport r;
        std::string msg = text.error().message;  // "path: reason"
        if (msg.rfind(path + ": ", 0) == 0) {
            msg.erase(0, path.size() + 2);
        }
        r.errors.push_back(cfg::Diagnostic{path, 0, msg});
        return r;
    }
    cfg::ParseOptions opts = options;
    if (!opts.lookup_env) {
        opts.lookup_env = [](std::string_view name) -> std::optional<std::string> {
            const char* v = std::getenv(std::string(name).c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
        };
    }
    cfg::ParseReport r = cfg::parse_report(*text, path, opts);
    // The text held the private key: do not leave it in freed heap memory.
    crypto::secure_wipe(text->data(), text->size());
    return r;
}

}  // namespace tunless::cli
