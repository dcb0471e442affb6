// http_proxy_fuzz: a client byte stream fed to RequestHeadParser in the chunks of the input's
// split schedule, compared with one parser fed the whole input at once (same verdict, fault
// and bytes consumed; a parser is reset and reused as the server does). After a complete head:
// the Basic auth check against fixed credentials, and write_forward_head() into an exactly
// sized buffer of kMaxForwardHeadSize bytes, which the header promises always suffices.
// Seed files (fuzz/corpus/http_proxy) are plain request heads, checked by proxy_tests.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/split_schedule.hpp"
#include "proxy/http_proxy_codec.hpp"

namespace {

using namespace tunless;
using namespace tunless::fuzz;
namespace http = tunless::proxy::http;

struct Outcome {
    http::RequestHeadParser::Step last;
    std::size_t consumed = 0;
};

Outcome feed_in_chunks(http::RequestHeadParser& p, ByteView data) {
    Outcome o;
    std::size_t from = 0;
    auto cuts = split_points(data, 64);
    cuts.push_back(data.size());
    for (std::size_t cut : cuts) {
        ExactCopy chunk(data.subspan(from, cut - from));
        o.last = p.feed(chunk.view());
        check(o.last.consumed <= chunk.size(), "consumed more than the chunk");
        o.consumed += o.last.consumed;
        from = cut;
        if (o.last.progress != proxy::Progress::kNeedMore) break;
    }
    return o;
}

void check_done(const http::RequestHead& head) {
    static const auto creds = proxy::Credentials::create("alice", "s3cret");
    check(creds.has_value(), "credentials");
    (void)http::check_proxy_authorization(head, *creds);
    (void)head.find("host");
    for (const auto& f : head.header_fields()) check(!f.name.empty(), "empty field name");
    auto buf = std::make_unique<std::uint8_t[]>(http::kMaxForwardHeadSize);
    for (int variant = 0; variant < 2; ++variant) {
        http::ForwardOptions opt;
        opt.add_via = variant == 0;
        opt.close_connection = variant == 0;
        const std::size_t n =
            http::write_forward_head(head, opt, MutByteView(buf.get(), http::kMaxForwardHeadSize));
        check(n <= http::kMaxForwardHeadSize, "forward head overflow");
        if (head.form == http::RequestForm::kAbsolute) {
            check(n > 0, "absolute-form head did not fit kMaxForwardHeadSize");
        } else {
            check(n == 0, "forwarded a CONNECT head");
        }
    }
}

}  // namespace

// One parser for the whole process, reset per input: the server reuses its parser the same
// way, and the 8 KiB head buffer inside is not re-zeroed by reset().
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto chunked = std::make_unique<http::RequestHeadParser>();
    auto whole = std::make_unique<http::RequestHeadParser>();
    chunked->reset();
    ExactCopy input(ByteView(data, size));

    const Outcome a = feed_in_chunks(*chunked, input.view());
    const auto b = whole->feed(input.view());
    check(a.last.progress == b.progress, "chunked and whole verdicts differ");
    if (b.progress == proxy::Progress::kError) {
        check(a.last.fault == b.fault, "chunked and whole faults differ");
        (void)http::response_head(http::status_for(b.fault));
        (void)http::fault_name(b.fault);
        return 0;
    }
    if (b.progress != proxy::Progress::kDone) return 0;
    check(a.consumed == b.consumed, "chunked and whole consumed differ");
    check_done(chunked->head());
    check_done(whole->head());
    // After kDone the parser repeats its outcome and takes nothing more.
    const std::uint8_t more[1] = {'x'};
    check(whole->feed(ByteView(more, 1)).consumed == 0, "consumed after done");
    return 0;
}
