#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_input.hpp"

namespace tunless::fuzz {

void fail(const char* what) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
}

}  // namespace tunless::fuzz
