# Size profile and static-linking switches for flash-constrained targets (docs/embedded.md).
# Included by the top-level CMakeLists.txt *before* the dependencies are looked up, because
# static linking changes which library files find_library picks. With every switch OFF (the
# default) it changes nothing. Not a toolchain file: the target comes from
# tools/cmake/toolchain-*.cmake, and these switches work with any of them (or none).

set(_tunless_static_deps ${TUNLESS_STATIC_DEPS})
if(TUNLESS_FULLY_STATIC)
  set(_tunless_static_deps ON)
endif()

if(_tunless_static_deps)
  # Debian's -dev packages ship libsodium.a and libmbed{tls,x509,crypto}.a next to the .so files;
  # preferring .a makes find_library and pkg_check_modules pick them. A build directory first
  # configured without this keeps its cached .so paths: use a fresh one.
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  # Debian ships no libfmt.a, so fmt is compiled header-only into our objects. fmt's CMake
  # export file accepts targets that already exist when *all* of its targets do, so defining
  # both here makes the later find_package(fmt) use them unchanged. A fixed digit separator
  # keeps fmt away from std::locale, whose facets cost ~150 KB of libstdc++ in a static link.
  find_path(TUNLESS_FMT_INCLUDE_DIR fmt/format.h REQUIRED)
  foreach(_t fmt::fmt fmt::fmt-header-only)
    add_library(${_t} INTERFACE IMPORTED)
    set_target_properties(${_t} PROPERTIES
      INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1;FMT_STATIC_THOUSANDS_SEPARATOR=','"
      INTERFACE_INCLUDE_DIRECTORIES ${TUNLESS_FMT_INCLUDE_DIR})
  endforeach()
endif()

if(TUNLESS_FULLY_STATIC)
  # One file with no run-time dependency at all: it runs on a hard-float (armhf) and on a
  # soft-float (QuecOpen arm-oe-linux-gnueabi) root filesystem alike, whatever their glibc.
  add_link_options(-static)
elseif(TUNLESS_STATIC_LIBSTDCXX)
  # The device's libstdc++ (if any) is often older than our g++ 12 needs.
  add_link_options(-static-libstdc++ -static-libgcc)
endif()

if(NOT TUNLESS_SIZE_OPT)
  return()
endif()

if(NOT CMAKE_BUILD_TYPE STREQUAL "MinSizeRel")
  message(WARNING "TUNLESS_SIZE_OPT is meant for CMAKE_BUILD_TYPE=MinSizeRel (-Os), "
                  "this build uses '${CMAKE_BUILD_TYPE}'")
endif()
option(TUNLESS_LTO "Link-time optimisation in the size profile" ON)
option(TUNLESS_STRIP "Strip executables at link time (-s) in the size profile" ON)

# One section per function/object so --gc-sections can drop everything unreferenced, also
# inside the static archives that were built that way.
add_compile_options(-ffunction-sections -fdata-sections)
add_link_options(-ffunction-sections -fdata-sections LINKER:--gc-sections LINKER:-O1
                 LINKER:--as-needed)
if(TUNLESS_STRIP)
  add_link_options(-s)
endif()
if(TUNLESS_LTO)
  include(CheckIPOSupported)
  get_property(_tunless_langs GLOBAL PROPERTY ENABLED_LANGUAGES)
  list(REMOVE_ITEM _tunless_langs NONE)
  check_ipo_supported(RESULT _tunless_ipo_ok OUTPUT _tunless_ipo_msg LANGUAGES ${_tunless_langs})
  if(_tunless_ipo_ok)
    set(CMAKE_INTERPROCEDURAL_OPTIMIZATION ON)
  else()
    message(WARNING "TUNLESS_LTO: the toolchain cannot do LTO, building without it: "
                    "${_tunless_ipo_msg}")
  endif()
endif()

# A linker map per executable: tools/cross/size-report.sh breaks the size down by component.
set(TUNLESS_MAP_DIR ${CMAKE_BINARY_DIR}/maps)
file(MAKE_DIRECTORY ${TUNLESS_MAP_DIR})
add_link_options("LINKER:-Map=${TUNLESS_MAP_DIR}/$<TARGET_PROPERTY:NAME>.map")
