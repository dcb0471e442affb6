// The `tunless` executable's std::terminate handler, in place of libstdc++'s verbose one.
// Linked only into the executable (not tunless_cli, so tests keep libstdc++'s). Why: the
// production code has no exceptions, but libstdc++ still throws from inside (std::bad_alloc,
// std::length_error) and then terminates through __gnu_cxx::__verbose_terminate_handler
// (libstdc++ vterminate.cc), which demangles the type name with __cxa_demangle: 29 KB of
// cp-demangle in the static armhf binary (docs/embedded.md, size). Defining the handler here
// keeps the linker from taking vterminate.o and cp-demangle.o out of libstdc++.a. Same message
// and what(), but the type's mangled name ("St9bad_alloc"; `c++filt -t` reads it); abort().
// This file alone is compiled with exceptions and RTTI (tools/tunless/CMakeLists.txt) for the
// rethrow that reaches what().
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <exception>
#include <typeinfo>

namespace {

void say(const char* s) {
    // Nothing to do if stderr is gone; we are about to abort anyway.
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, s, std::strlen(s));
}

}  // namespace

namespace __gnu_cxx {

void __verbose_terminate_handler() {
    static bool entered = false;  // a second terminate from inside what(): just abort
    if (entered) {
        std::abort();
    }
    entered = true;
    const std::type_info* t = abi::__cxa_current_exception_type();
    if (t == nullptr) {
        say("terminate called without an active exception\n");
        std::abort();
    }
    say("terminate called after throwing an instance of '");
    say(t->name());
    say("'\n");
    try {
        throw;
    } catch (const std::exception& e) {
        say("  what():  ");
        say(e.what());
        say("\n");
    } catch (...) {
    }
    std::abort();
}

}  // namespace __gnu_cxx
