// TlsSession: the client side of one TLS 1.2 session over a non-blocking socket, the single
// adapter around Mbed TLS 2.28 (engineering notes 6.9: every Mbed TLS call lives in
// tls_session.cpp, so a move to Mbed TLS 3.x touches one file). Owned by io::ClientStream
// (transports/client_stream.hpp), which drives it from EventLoop readiness. Mbed TLS types
// stay out of this header: the contexts are heap-allocated once behind a pointer (the BIO
// keeps their address) and the object is neither copyable nor movable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/base/bytes.hpp"
#include "core/base/result.hpp"

namespace tunless::io {

struct TlsOptions {
    bool enabled = false;
    // SNI and the name the certificate must carry. Empty: the connection's host.
    std::string server_name;
    // PEM bundle of trusted roots; empty: kSystemCaBundle.
    std::string ca_file;
    // DERP "sha256-raw:<hex>" CertName (tailscale derp/derphttp/derphttp_client.go): accept
    // exactly the leaf certificate whose DER hashes to this (self-signed is fine); no CA check,
    // no name check.
    std::optional<std::array<std::uint8_t, 32>> pinned_cert_sha256;
    // Tests only: no certificate check at all. The caller logs it loudly.
    bool insecure_skip_verify = false;
};

inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// What Mbed TLS waits for before the same call can make progress. Either direction can
// be needed by either call (a write may need a read, e.g. a pending handshake message).
enum class TlsWant : std::uint8_t { kNothing, kReadable, kWritable };

struct TlsIo {
    std::size_t bytes = 0;             // plaintext moved
    TlsWant want = TlsWant::kNothing;  // set when bytes == 0 and the call must be retried
    bool eof = false;                  // read only: the peer closed (close_notify or TCP FIN)
};

class TlsSession {
public:
    // Loads the trust anchors and seeds the RNG; nothing touches the network yet.
    // `host` is the SNI/verification name when options.server_name is empty. Errors:
    // kInvalidArgument (no usable name), kNotFound/kIo (CA file), kProtocol (Mbed TLS setup).
    static Result<std::unique_ptr<TlsSession>> create(const TlsOptions& options,
                                                      const std::string& host);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // The connected non-blocking socket the records travel on (not owned). Once only.
    void attach(int fd);

    // One handshake step. kNothing: done and the peer verified (CA chain and name, or the
    // pin). Errors: kAuthFailed (certificate rejected; message says why), kClosed, kProtocol.
    Result<TlsWant> handshake();
    // Plaintext from the peer. Errors: kProtocol (bad record, alert), kIo (socket).
    Result<TlsIo> read(MutByteView out);
    // Encrypts and sends a prefix of `data`. After a `want`, the next call must pass the
    // same bytes again (at least as many; Mbed TLS finishes the record it already built and
    // reports exactly that record's length).
    Result<TlsIo> write(ByteView data);
    // Decrypted bytes or unread records held inside Mbed TLS: epoll will not report them,
    // so the owner reads again without waiting for readability.
    bool has_pending() const;
    // Best effort close_notify; never blocks, errors ignored.
    void send_close_notify();

    struct Impl;  // the Mbed TLS contexts; opaque outside tls_session.cpp

private:
    explicit TlsSession(std::unique_ptr<Impl> impl);
    Error error_from(int rc, const char* what) const;

    std::unique_ptr<Impl> impl_;
};

}  // namespace tunless::io
