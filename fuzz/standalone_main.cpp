// Replay driver for fuzz targets built without libFuzzer (GCC, plain ctest): runs
// LLVMFuzzerTestOneInput once per file named on the command line, walking directories
// recursively in sorted order. Written after the idea of LLVM's StandaloneFuzzTargetMain.c.
// Each input is copied into an exactly-sized heap buffer, as libFuzzer does, so sanitizer
// builds see over-reads. Arguments starting with '-' are ignored (libFuzzer flags such as
// -runs=0), as are files whose names start with '.' (.gitkeep). A path that does not exist is
// an error: a misspelt corpus directory must not turn the replay into a silent no-op.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

bool collect(const fs::path& p, std::vector<fs::path>& files) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        for (const auto& e : fs::recursive_directory_iterator(p, ec)) {
            if (e.is_regular_file() && e.path().filename().string().rfind('.', 0) != 0) {
                files.push_back(e.path());
            }
        }
        return !ec;
    }
    if (fs::is_regular_file(p, ec)) {
        files.push_back(p);
        return true;
    }
    return false;
}

bool run_one(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return false;
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    // Exactly sized, never a shared or over-allocated buffer (new[] of 0 is still distinct).
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[bytes.size()]);
    if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    std::vector<fs::path> files;
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] == '-') continue;
        if (!collect(argv[i], files)) {
            std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::fprintf(stderr, "replay: %s\n", f.c_str());
        if (!run_one(f)) {
            std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
            return 2;
        }
    }
    std::fprintf(stderr, "replay: %zu inputs ok\n", files.size());
    return 0;
}
