// Writes the generated seed corpora under <dir>/<target>/ (usage: tunless_fuzz_seeds <dir>,
// normally fuzz/corpus): valid inputs produced by our own code, so fuzzing starts past the
// first gates. WireGuard messages come from real Devices with the fixed keys the targets use;
// IP packets from the netstack tests' packet builder, with TCP sequence numbers taken from
// what the Stack answered; configs and PROXY headers from our serializers/encoders.
// Deterministic: running it twice writes the same bytes. socks5/http_proxy seeds are
// hand-written streams (kept as they are; proxy_tests checks them).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/base/bytes.hpp"
#include "fuzz/seeds/seed_writers.hpp"

namespace tunless::fuzz::seeds {

namespace fs = std::filesystem;

void Writer::put(const std::string& name, ByteView data) {
    fs::create_directories(dir_);
    std::ofstream f(dir_ / name, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    ++count_;
}

void Writer::put(const std::string& name, std::string_view text) {
    put(name, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace tunless::fuzz::seeds

int main(int argc, char** argv) {
    using namespace tunless::fuzz::seeds;
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path root = argv[1];
    std::size_t total = 0;
    auto run = [&](const char* target, void (*fn)(Writer&)) {
        Writer w(root / target);
        fn(w);
        std::printf("%-20s %zu seeds\n", target, w.count());
        total += w.count();
    };
    run("wg_message", write_wg_message_seeds);
    run("wg_device", write_wg_device_seeds);
    run("wg_data", write_wg_data_seeds);
    run("netstack_ip", write_netstack_seeds);
    run("proxy_protocol", write_proxy_protocol_seeds);
    run("config", write_config_seeds);
    run("dns_message", write_dns_seeds);
    std::printf("total %zu\n", total);
    return 0;
}
