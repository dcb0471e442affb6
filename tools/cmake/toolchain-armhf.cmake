# CMake toolchain file: Debian 12's armhf cross compiler (crossbuild-essential-armhf) with the
# armhf multiarch -dev packages as the "sysroot" (tools/cross/setup-armhf.sh installs both).
# Target: Quectel EC21/EC25/AG35 (Qualcomm MDM9607, one Cortex-A7, ARMv7-A, NEON-VFPv4).
# Not for vendor SDKs (QuecOpen's arm-oe-linux-gnueabi): use toolchain-oe-sdk.cmake for those.
# Usage: cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=tools/cmake/toolchain-armhf.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(TUNLESS_CROSS_TRIPLE arm-linux-gnueabihf)
set(CMAKE_C_COMPILER ${TUNLESS_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${TUNLESS_CROSS_TRIPLE}-g++)
# Debian's cross gcc is built with --with-sysroot=/ and searches the multiarch directories
# (/usr/lib/arm-linux-gnueabihf); this makes find_library/find_package look there too.
set(CMAKE_LIBRARY_ARCHITECTURE ${TUNLESS_CROSS_TRIPLE})

# The compiler defaults to armv7-a+fp, Thumb-2, hard float (Debian's armhf baseline, which the
# multiarch libraries are built for). Tuning for the Cortex-A7 keeps that ABI and lets gcc use
# NEON-VFPv4 in our code. Thumb-2 is also the smaller instruction set, which matters for flash.
set(TUNLESS_ARM_FLAGS "-mcpu=cortex-a7 -mfpu=neon-vfpv4 -mfloat-abi=hard -mthumb"
    CACHE STRING "CPU/ABI flags for the armhf target")
set(CMAKE_C_FLAGS_INIT "${TUNLESS_ARM_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${TUNLESS_ARM_FLAGS}")

# Only the target's pkg-config files: without this, pkg-config would hand out the host's
# (x86-64) library paths.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${TUNLESS_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# ctest and add_test() run target executables through qemu-user. -L names the root where qemu
# finds the dynamic loader. Use the multiarch libc6:armhf (/lib/ld-linux-armhf.so.3) when present:
# the loader must come from the same glibc build as the libc.so.6 that the multiarch packages
# resolve to (/lib/arm-linux-gnueabihf). Pairing libc6-armhf-cross's loader (-L
# /usr/arm-linux-gnueabihf, an older 2.36 build) with that libc crashes in pthread_create.
find_program(TUNLESS_QEMU_ARM qemu-arm)
if(TUNLESS_QEMU_ARM)
  if(EXISTS /lib/ld-linux-armhf.so.3)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${TUNLESS_QEMU_ARM} -L /)
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${TUNLESS_QEMU_ARM} -L /usr/${TUNLESS_CROSS_TRIPLE})
  endif()
endif()
