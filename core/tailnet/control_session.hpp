// ControlSession: the sans-IO state machine for ONE ts2021 control connection, from the first
// byte after TCP/TLS is up to its end: `POST /ts2021` upgrade, Noise IK response, the Noise
// record channel with the early payload stripped, HTTP/2, then `/machine/register` and the
// `/machine/map` long poll (tailscale control/controlclient/direct.go doLogin and
// sendMapRequest; facts in tailscale.md §1-3). It owns no netmap: each MapResponse is handed
// to the caller in order. Not the reconnect policy: after any error the session is dead and
// app::ControlClient (tools/tunless/app/tailnet_control.hpp) makes a new one on a new stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "core/base/ip_address.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/base/time.hpp"
#include "core/crypto/keys.hpp"
#include "core/tailnet/control_noise.hpp"
#include "core/tailnet/early_payload.hpp"
#include "core/tailnet/h2_client.hpp"
#include "core/tailnet/map_stream.hpp"
#include "core/tailnet/tailcfg.hpp"

namespace tunless::tailnet {

// From start() until the register request is answered (upgrade, Noise, HTTP/2 setup).
inline constexpr Duration kControlSetupTimeout = std::chrono::seconds(30);
// direct.go sendMapRequest: no message at all (keep-alives count) for 2 minutes -> reconnect.
inline constexpr Duration kMapWatchdog = std::chrono::seconds(120);
// The Followup register blocks until an operator approves; headscale forgets pending
// registrations after ~15 minutes, after which a new login URL is needed anyway.
inline constexpr Duration kLoginWaitTimeout = std::chrono::minutes(15);
inline constexpr std::size_t kMaxRegisterBody = 64 * 1024;
inline constexpr std::size_t kMaxErrorBodyText = 512;  // of a non-200 answer, in the error
inline constexpr std::size_t kMaxMapMessage = MapMessageReader::kDefaultMaxMessage;

struct ControlSessionConfig {
    std::string host;  // Host header and :authority: "host" or "host:port" ("[v6]:port")
    crypto::PrivateKey machine_key;  // the Noise static key
    crypto::PublicKey control_key;   // server's Noise key (GET /key or pinned)
    crypto::PublicKey node_key;
    std::optional<crypto::PublicKey> old_node_key;  // sent as OldNodeKey after a rotation
    crypto::PublicKey disco_key;                    // must be non-zero (tailscale.md §3.1)
    std::optional<std::string> auth_key;            // Auth.AuthKey; a secret, never in errors
    bool ephemeral = false;
    Hostinfo hostinfo;  // incl. NetInfo.PreferredDERP
    std::vector<Endpoint> endpoints;
    std::vector<int> endpoint_types;
    Duration setup_timeout = kControlSetupTimeout;
    Duration map_watchdog = kMapWatchdog;
    Duration login_wait_timeout = kLoginWaitTimeout;
};

enum class ControlEventKind : std::uint8_t {
    kNeedsLogin,      // detail = AuthURL; the session now waits (Followup) for the approval
    kRegistered,      // registration accepted (`registration`); the map poll has started
    kNodeKeyExpired,  // rotate the node key and reconnect; the session is finished
    kMapResponse,     // `map`: the next message of the long poll (keep-alives included)
};

struct ControlEvent {
    ControlEventKind kind = ControlEventKind::kMapResponse;
    std::string detail;
    RegisterResponse registration;
    MapResponse map;
    bool first_in_stream = false;  // kMapResponse: the stream's first (full) map
};

class ControlSession {
public:
    enum class Phase : std::uint8_t {
        kIdle,           // created, start() not called
        kUpgrade,        // waiting for the HTTP/1.1 101 head
        kNoiseResponse,  // waiting for the Noise response after the head
        kRegistering,    // HTTP/2 up, /machine/register sent
        kAwaitingLogin,  // Followup register blocked until the login is approved
        kPolling,        // /machine/map long poll running
        kFinished,       // NodeKeyExpired reported: nothing more to do
        kFailed,         // an error was returned: dead for good
    };

    // Builds the Noise initiation (ephemeral key from `rng`). kInvalidArgument for a bad host
    // or a zero disco/node key.
    static Result<std::unique_ptr<ControlSession>> create(ControlSessionConfig config, Rng& rng);
    ~ControlSession();
    ControlSession(const ControlSession&) = delete;
    ControlSession& operator=(const ControlSession&) = delete;

    // Appends the `POST /ts2021` upgrade request to `out`; starts the setup deadline.
    Status start(Instant now, Bytes& out);
    // Bytes from the server, any split. Appends bytes to send to `out` and events to `events`
    // (in order, also when an error is returned: events before the error stay valid).
    Status on_bytes(Instant now, ByteView in, Bytes& out, std::vector<ControlEvent>& events);
    // Call when now >= next_deadline(): kTimedOut for a stalled setup, login wait or map poll.
    Status on_timer(Instant now, Bytes& out, std::vector<ControlEvent>& events);
    Instant next_deadline() const { return deadline_; }
    // The server closed the connection: the error that explains it for the current phase
    // (101 followed by EOF is headscale's answer to a rejected capability version).
    Error on_eof() const;

    // A "lite" update (Stream:false, OmitPeers:true) carrying `req`'s Hostinfo/Endpoints; the
    // session fills Version, keys and flags. Only while polling (else kInvalidArgument). One
    // at a time: a request while one is in flight replaces any queued one.
    Status send_lite_update(Instant now, MapRequest req, Bytes& out,
                            std::vector<ControlEvent>& events);

    Phase phase() const { return phase_; }
    bool is_polling() const { return phase_ == Phase::kPolling; }
    // True once the Noise response verified (the control key was right).
    bool channel_established() const { return channel_.has_value(); }
    std::uint64_t map_messages() const { return map_messages_; }
    std::uint64_t lite_updates_sent() const { return lite_sent_; }

private:
    enum class RequestKind : std::uint8_t { kRegister, kMap, kLite };
    // One HTTP/2 request's response collector; reused for successive requests of its kind.
    class Request final : public H2StreamHandler {
    public:
        Request(ControlSession& session, RequestKind kind) : session_(session), kind_(kind) {}
        void reset(std::int32_t stream_id);
        void on_response_headers(int status, const H2Headers& headers) override;
        void on_data(ByteView chunk) override;
        void on_close(const Status& result) override;

        ControlSession& session_;
        RequestKind kind_;
        std::int32_t stream_id_ = 0;  // 0: none in flight
        int status_ = 0;
        Bytes body_;  // register answer, or the start of an error body
    };

    ControlSession(ControlSessionConfig config, ControlHandshake handshake);

    // Sets the per-call context, runs `step`, flushes HTTP/2 output, returns the first error.
    template <typename Step>
    Status run(Instant now, Bytes& out, std::vector<ControlEvent>& events, Step&& step);
    void set_error(Errc code, std::string message);
    void emit(ControlEvent event);
    void feed(ByteView in);
    void feed_head();
    void feed_noise_response();
    void feed_channel(ByteView in);
    void flush(Bytes& out);

    // control_session_requests.cpp
    void submit_register();
    void start_map_poll();
    void submit_lite(MapRequest req);
    void on_request_data(Request& r, ByteView chunk);
    void on_request_closed(Request& r, const Status& result);
    void on_register_answer(const Request& r);
    void on_map_data(Request& r, ByteView chunk);
    std::string error_body(const Request& r) const;

    ControlSessionConfig config_;
    ControlHandshake handshake_;
    Phase phase_ = Phase::kIdle;
    Bytes pending_;  // bytes before the channel: the 101 head, then the Noise response
    std::optional<ControlChannel> channel_;
    EarlyPayloadFilter early_;
    std::unique_ptr<H2Client> h2_;
    MapMessageReader map_reader_{kMaxMapMessage};
    Request register_{*this, RequestKind::kRegister};
    Request map_{*this, RequestKind::kMap};
    Request lite_{*this, RequestKind::kLite};
    std::optional<MapRequest> lite_queued_;
    std::string followup_;  // AuthURL once the Followup register was sent
    Instant deadline_ = kNever;
    std::optional<Error> failure_;  // sticky
    std::uint64_t map_messages_ = 0;
    std::uint64_t lite_sent_ = 0;
    // Context of the public call in progress (handlers run inside it).
    Instant now_{};
    std::vector<ControlEvent>* events_ = nullptr;
};

}  // namespace tunless::tailnet
