// Seed writers, one per fuzz target (fuzz/seeds/*.cpp), called by write_seeds.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/base/bytes.hpp"

namespace tunless::fuzz::seeds {

class Writer {
public:
    explicit Writer(std::filesystem::path dir) : dir_(std::move(dir)) {}
    void put(const std::string& name, ByteView data);
    void put(const std::string& name, std::string_view text);
    std::size_t count() const { return count_; }

private:
    std::filesystem::path dir_;
    std::size_t count_ = 0;
};

void write_wg_message_seeds(Writer& w);
void write_wg_device_seeds(Writer& w);
void write_wg_data_seeds(Writer& w);
void write_netstack_seeds(Writer& w);
void write_proxy_protocol_seeds(Writer& w);
void write_config_seeds(Writer& w);
void write_dns_seeds(Writer& w);

}  // namespace tunless::fuzz::seeds
