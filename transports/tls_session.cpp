#include "transports/tls_session.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>  // MBEDTLS_ERR_NET_* codes only; the BIO is ours
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "transports/x509_ip_san.hpp"

namespace tunless::io {
namespace {

// Plaintext per mbedtls_ssl_write call: one full record (MBEDTLS_SSL_OUT_CONTENT_LEN).
constexpr std::size_t kMaxRecordPlaintext = 16384;
constexpr char kPersonalization[] = "tunless tls client";

}  // namespace

struct TlsSession::Impl {
    Impl() {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_x509_crt_init(&ca);
        mbedtls_ssl_config_init(&conf);
        mbedtls_ssl_init(&ssl);
    }
    ~Impl() {
        mbedtls_ssl_free(&ssl);
        mbedtls_ssl_config_free(&conf);
        mbedtls_x509_crt_free(&ca);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    std::optional<std::array<std::uint8_t, 32>> pin;
    std::optional<IpAddress> ip_name;  // peer named by an IP literal: matched by IP SAN
    int fd = -1;
    int last_errno = 0;            // errno behind the last MBEDTLS_ERR_NET_* from the BIO
    std::size_t write_in_flight = 0;  // length of the record a WANT_* left half-sent
};

namespace {

int bio_send(void* ctx, const unsigned char* buf, std::size_t len) {
    auto* impl = static_cast<TlsSession::Impl*>(ctx);
    for (;;) {
        const ssize_t n = ::send(impl->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return MBEDTLS_ERR_SSL_WANT_WRITE;
        impl->last_errno = errno;
        return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

int bio_recv(void* ctx, unsigned char* buf, std::size_t len) {
    auto* impl = static_cast<TlsSession::Impl*>(ctx);
    for (;;) {
        const ssize_t n = ::recv(impl->fd, buf, len, 0);
        if (n >= 0) return static_cast<int>(n);  // 0: TCP FIN, Mbed TLS reports CONN_EOF
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return MBEDTLS_ERR_SSL_WANT_READ;
        impl->last_errno = errno;
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

std::string mbedtls_text(int rc) {
    char text[160];
    mbedtls_strerror(rc, text, sizeof text);
    char code[16];
    std::snprintf(code, sizeof code, " (-0x%04x)", static_cast<unsigned>(-rc));
    return std::string(text) + code;
}

// The pin is public, but compare without early exit anyway: nothing about the match leaks.
bool same_digest(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < n; ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
    return diff == 0;
}

Status load_trust(TlsSession::Impl& impl, const std::string& ca_file) {
    const std::string path = ca_file.empty() ? kSystemCaBundle : ca_file;
    // A positive result counts certificates that did not parse: system bundles carry a few
    // Mbed TLS rejects (unsupported algorithms); the others still serve.
    const int rc = mbedtls_x509_crt_parse_file(&impl.ca, path.c_str());
    if (rc == MBEDTLS_ERR_PK_FILE_IO_ERROR) {
        return fail(Errc::kNotFound, "cannot read CA file " + path);
    }
    if (rc < 0) return fail(Errc::kInvalidArgument, "CA file " + path + ": " + mbedtls_text(rc));
    if (impl.ca.version == 0) {
        return fail(Errc::kInvalidArgument, "CA file " + path + " holds no usable certificate");
    }
    mbedtls_ssl_conf_ca_chain(&impl.conf, &impl.ca, nullptr);
    return {};
}

}  // namespace

TlsSession::TlsSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsSession::~TlsSession() = default;

Result<std::unique_ptr<TlsSession>> TlsSession::create(const TlsOptions& options,
                                                       const std::string& host) {
    const std::string& name = options.server_name.empty() ? host : options.server_name;
    const bool check_chain = !options.insecure_skip_verify && !options.pinned_cert_sha256;
    if (name.empty() && check_chain) {
        // Mbed TLS skips the name check when no hostname is set: never let that happen.
        return fail(Errc::kInvalidArgument, "TLS needs a server name to verify");
    }
    auto impl = std::make_unique<Impl>();
    Impl& s = *impl;
    int rc = mbedtls_ctr_drbg_seed(&s.drbg, mbedtls_entropy_func, &s.entropy,
                                   reinterpret_cast<const unsigned char*>(kPersonalization),
                                   sizeof kPersonalization - 1);
    if (rc != 0) return fail(Errc::kIo, "TLS RNG seed: " + mbedtls_text(rc));
    rc = mbedtls_ssl_config_defaults(&s.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) return fail(Errc::kProtocol, "TLS config: " + mbedtls_text(rc));
    mbedtls_ssl_conf_rng(&s.conf, mbedtls_ctr_drbg_random, &s.drbg);
    // TLS 1.2 only (the newest Mbed TLS 2.28 speaks); no renegotiation, so a read never has
    // to answer a HelloRequest behind the caller's back.
    mbedtls_ssl_conf_min_version(&s.conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_renegotiation(&s.conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    if (options.insecure_skip_verify) {
        mbedtls_ssl_conf_authmode(&s.conf, MBEDTLS_SSL_VERIFY_NONE);
    } else if (options.pinned_cert_sha256) {
        // The chain is not judged (a pinned DERP certificate is typically self-signed); the
        // leaf is compared after the handshake, before the owner sends a single byte.
        s.pin = options.pinned_cert_sha256;
        mbedtls_ssl_conf_authmode(&s.conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    } else {
        if (Status st = load_trust(s, options.ca_file); !st) return st.error();
        mbedtls_ssl_conf_authmode(&s.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    }
    rc = mbedtls_ssl_setup(&s.ssl, &s.conf);
    if (rc != 0) return fail(Errc::kProtocol, "TLS setup: " + mbedtls_text(rc));
    if (auto ip = IpAddress::parse(name); ip && check_chain) {
        // No SNI for an address (RFC 6066 §3), and Mbed TLS 2.28 cannot match it: the chain
        // is verified as usual and the iPAddress SAN after the handshake.
        s.ip_name = *ip;
    } else if (!name.empty()) {
        // Sets SNI and the name the certificate is matched against (CN/SAN).
        rc = mbedtls_ssl_set_hostname(&s.ssl, name.c_str());
        if (rc != 0) return fail(Errc::kInvalidArgument, "TLS server name: " + mbedtls_text(rc));
    }
    return std::unique_ptr<TlsSession>(new TlsSession(std::move(impl)));
}

void TlsSession::attach(int fd) {
    impl_->fd = fd;
    mbedtls_ssl_set_bio(&impl_->ssl, impl_.get(), bio_send, bio_recv, nullptr);
}

Error TlsSession::error_from(int rc, const char* what) const {
    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        return make_error(Errc::kClosed, std::string(what) + ": closed by the peer");
    }
    if (rc == MBEDTLS_ERR_NET_CONN_RESET || rc == MBEDTLS_ERR_NET_SEND_FAILED ||
        rc == MBEDTLS_ERR_NET_RECV_FAILED) {
        return make_error(Errc::kIo, std::string(what) + ": " + std::strerror(impl_->last_errno));
    }
    return make_error(Errc::kProtocol, std::string(what) + ": " + mbedtls_text(rc));
}

Result<TlsWant> TlsSession::handshake() {
    const int rc = mbedtls_ssl_handshake(&impl_->ssl);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) return TlsWant::kReadable;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) return TlsWant::kWritable;
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char info[256];
        const int n = mbedtls_x509_crt_verify_info(info, sizeof info, "",
                                                   mbedtls_ssl_get_verify_result(&impl_->ssl));
        std::string why(info, n > 0 ? static_cast<std::size_t>(n) : 0);
        std::replace(why.begin(), why.end(), '\n', ';');
        return fail(Errc::kAuthFailed, "TLS certificate rejected: " + why);
    }
    if (rc != 0) return error_from(rc, "TLS handshake");
    if (impl_->ip_name) {
        const mbedtls_x509_crt* leaf = mbedtls_ssl_get_peer_cert(&impl_->ssl);
        if (leaf == nullptr ||
            !certificate_names_ip(ByteView(leaf->v3_ext.p, leaf->v3_ext.len), *impl_->ip_name)) {
            return fail(Errc::kAuthFailed, "TLS certificate rejected: it is not issued for " +
                                               impl_->ip_name->to_string());
        }
    }
    if (impl_->pin) {
        const mbedtls_x509_crt* leaf = mbedtls_ssl_get_peer_cert(&impl_->ssl);
        if (leaf == nullptr || leaf->raw.p == nullptr) {
            return fail(Errc::kAuthFailed, "TLS peer sent no certificate to match the pin");
        }
        std::array<std::uint8_t, 32> digest{};
        if (mbedtls_sha256_ret(leaf->raw.p, leaf->raw.len, digest.data(), 0) != 0 ||
            !same_digest(digest.data(), impl_->pin->data(), digest.size())) {
            return fail(Errc::kAuthFailed, "TLS certificate does not match the pinned SHA-256");
        }
    }
    return TlsWant::kNothing;
}

Result<TlsIo> TlsSession::read(MutByteView out) {
    const int rc = mbedtls_ssl_read(&impl_->ssl, out.data(), out.size());
    if (rc > 0) return TlsIo{static_cast<std::size_t>(rc), TlsWant::kNothing, false};
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) return TlsIo{0, TlsWant::kReadable, false};
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) return TlsIo{0, TlsWant::kWritable, false};
    // A FIN without close_notify is a truncation in theory; everything we carry is framed
    // (HTTP, Noise, DERP), so both count as the peer closing.
    if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        return TlsIo{0, TlsWant::kNothing, true};
    }
    return error_from(rc, "TLS read");
}

Result<TlsIo> TlsSession::write(ByteView data) {
    std::size_t len = std::min(data.size(), kMaxRecordPlaintext);
    if (impl_->write_in_flight != 0) {
        // Mbed TLS only flushes the record it built last time and returns `len` as if it
        // were that record's size: the length must not change.
        if (data.size() < impl_->write_in_flight) {
            return fail(Errc::kInvalidArgument, "TLS write retried with fewer bytes");
        }
        len = impl_->write_in_flight;
    }
    const int rc = mbedtls_ssl_write(&impl_->ssl, data.data(), len);
    if (rc >= 0) {
        impl_->write_in_flight = 0;
        return TlsIo{static_cast<std::size_t>(rc), TlsWant::kNothing, false};
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        impl_->write_in_flight = len;
        const bool wants_read = rc == MBEDTLS_ERR_SSL_WANT_READ;
        return TlsIo{0, wants_read ? TlsWant::kReadable : TlsWant::kWritable, false};
    }
    return error_from(rc, "TLS write");
}

bool TlsSession::has_pending() const { return mbedtls_ssl_check_pending(&impl_->ssl) != 0; }

void TlsSession::send_close_notify() {
    if (impl_->fd >= 0) (void)mbedtls_ssl_close_notify(&impl_->ssl);
}

}  // namespace tunless::io
