# CMake toolchain file for an OpenEmbedded/Yocto SDK, such as Quectel's QuecOpen SDK
# (ql-ol-crosstool, arm-oe-linux-gnueabi-, soft-float calling convention "softfp"), or for any
# other compiler + sysroot pair (e.g. Debian's g++-arm-linux-gnueabi against a vendor sysroot).
# Not for Debian's multiarch cross build: that is toolchain-armhf.cmake. See docs/embedded.md.
#
# Usage: source <sdk>/ql-ol-crosstool/ql-ol-crosstool-env-init   (or environment-setup-*)
#        cmake -S . -B build-oe -DCMAKE_TOOLCHAIN_FILE=tools/cmake/toolchain-oe-sdk.cmake
# The compiler and its ABI flags come from $CC/$CXX as the SDK's environment script sets them;
# without them, from TUNLESS_CROSS_PREFIX plus TUNLESS_ARM_FLAGS. The sysroot comes from
# TUNLESS_SYSROOT, else $SDKTARGETSYSROOT / $QL_SDK_TARGET_SYSROOT / $OECORE_TARGET_SYSROOT.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(TUNLESS_CROSS_PREFIX "arm-oe-linux-gnueabi-" CACHE STRING
    "Compiler prefix used when $CC/$CXX are not set")
set(TUNLESS_ARM_FLAGS "-march=armv7-a -mfloat-abi=softfp -mfpu=neon" CACHE STRING
    "CPU/ABI flags used when $CC/$CXX are not set (QuecOpen: ARMv7-A, softfp, NEON)")

if(NOT TUNLESS_SYSROOT)
  foreach(_v SDKTARGETSYSROOT QL_SDK_TARGET_SYSROOT OECORE_TARGET_SYSROOT)
    if(DEFINED ENV{${_v}} AND NOT "$ENV{${_v}}" STREQUAL "")
      set(TUNLESS_SYSROOT "$ENV{${_v}}")
      break()
    endif()
  endforeach()
endif()
if(NOT TUNLESS_SYSROOT)
  message(FATAL_ERROR "toolchain-oe-sdk: no sysroot; source the SDK's environment script "
                      "or pass -DTUNLESS_SYSROOT=<sdk>/sysroots/<target>")
endif()
set(TUNLESS_SYSROOT "${TUNLESS_SYSROOT}" CACHE PATH "Target sysroot")
# try_compile projects re-read this file without the cache: hand the sysroot down.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TUNLESS_SYSROOT TUNLESS_CROSS_PREFIX
     TUNLESS_ARM_FLAGS)

# "$CC" is a command line: the compiler, then flags (-march, -mfloat-abi, --sysroot, ...).
function(_tunless_compiler lang env_var fallback)
  if(DEFINED ENV{${env_var}} AND NOT "$ENV{${env_var}}" STREQUAL "")
    separate_arguments(_cmd UNIX_COMMAND "$ENV{${env_var}}")
    list(POP_FRONT _cmd _exe)
    list(JOIN _cmd " " _flags)
  else()
    set(_exe "${TUNLESS_CROSS_PREFIX}${fallback}")
    set(_flags "${TUNLESS_ARM_FLAGS}")
  endif()
  set(CMAKE_${lang}_COMPILER "${_exe}" PARENT_SCOPE)
  set(CMAKE_${lang}_FLAGS_INIT "${_flags}" PARENT_SCOPE)
endfunction()
_tunless_compiler(C CC gcc)
_tunless_compiler(CXX CXX g++)

set(CMAKE_SYSROOT "${TUNLESS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${TUNLESS_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config: the sysroot's .pc files, with their paths rebased into the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${TUNLESS_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${TUNLESS_SYSROOT}/usr/lib/pkgconfig:${TUNLESS_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

find_program(TUNLESS_QEMU_ARM qemu-arm)
if(TUNLESS_QEMU_ARM)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${TUNLESS_QEMU_ARM} -L "${TUNLESS_SYSROOT}")
endif()
