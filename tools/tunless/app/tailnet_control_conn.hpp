// The two stream handlers of app::ControlClient (tailnet_control.hpp): KeyFetch runs
// `GET /key?v=<capver>` on a short connection of its own (tailscale
// control/controlclient/direct.go loadServerPubKeys), Connection carries one ts2021 stream and
// its tailnet::ControlSession. Both report to their ControlClient and never destroy themselves;
// the client parks finished ones until its next timer round. Private to ControlClient.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/tailnet/control_session.hpp"
#include "core/tailnet/http1.hpp"
#include "tools/tunless/app/tailnet_control.hpp"
#include "transports/client_stream.hpp"

namespace tunless::app {

class ControlClient::KeyFetch final : public io::ClientStreamHandler {
public:
    explicit KeyFetch(ControlClient& owner) : owner_(owner) {}
    // Connects and queues the request; errors are the synchronous ones of ClientStream.
    Status start();
    void close();

private:
    void on_connected() override {}
    void on_data(ByteView bytes) override;
    void on_writable() override {}
    void on_closed(const Error& why) override;
    void finish(Result<crypto::PublicKey> result);

    ControlClient& owner_;
    std::unique_ptr<io::ClientStream> stream_;
    Bytes head_;  // response bytes until the head is complete (parse_response_head bounds it)
    std::optional<tailnet::BodyReader> body_;
    bool done_ = false;
};

class ControlClient::Connection final : public io::ClientStreamHandler {
public:
    Connection(ControlClient& owner, std::unique_ptr<tailnet::ControlSession> session)
        : owner_(owner), session_(std::move(session)) {}
    Status start(Instant now);
    void on_timer(Instant now);
    Status send_lite(Instant now, tailnet::MapRequest req);
    void close();

    Instant deadline() const { return session_->next_deadline(); }
    const tailnet::ControlSession& session() const { return *session_; }

private:
    void on_connected() override {}
    void on_data(ByteView bytes) override;
    void on_writable() override {}
    void on_closed(const Error& why) override;
    // Sends `out`, hands `events` to the owner, then reports `st` (if still current).
    void finish_step(Status st, Bytes& out, std::vector<tailnet::ControlEvent>& events);

    ControlClient& owner_;
    std::unique_ptr<tailnet::ControlSession> session_;
    std::unique_ptr<io::ClientStream> stream_;
};

}  // namespace tunless::app
