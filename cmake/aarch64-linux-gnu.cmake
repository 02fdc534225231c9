# Cross-compiling weft for aarch64 with Debian's cross toolchain (g++-aarch64-linux-gnu), against the
# arm64 multiarch dev packages (libssl-dev:arm64, libc-ares-dev:arm64, libgtest-dev:arm64 in
# /usr/lib/aarch64-linux-gnu), running the test binaries under qemu-user. scripts/cross-aarch64.sh
# installs all of it and uses this file:
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Where things are, and why the find modes below:
# - /usr/aarch64-linux-gnu holds the cross toolchain's own libc and libstdc++ (libc6-dev-arm64-cross);
#   it is the find root, searched first, and qemu's -L prefix (the ELF interpreter and libc come from it).
# - Everything else weft links is a multiarch package: arm64 libraries and CMake configs in
#   /usr/lib/aarch64-linux-gnu, headers in /usr/include (arch-specific ones in
#   /usr/include/aarch64-linux-gnu), and arch-independent files (tl-expected's config in
#   /usr/share/cmake, llhttp in /usr/share) shared with the host. None of that is under the find root,
#   so libraries, headers and packages are searched there too (BOTH); CMAKE_LIBRARY_ARCHITECTURE keeps
#   find_library and find_package in /usr/lib/aarch64-linux-gnu and out of /usr/lib/x86_64-linux-gnu.
# - No CMAKE_SYSROOT: Debian's cross gcc already searches the multiarch directories, and a sysroot would
#   hide them from it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(WEFT_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${WEFT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${WEFT_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${WEFT_CROSS_TRIPLE})

set(CMAKE_FIND_ROOT_PATH /usr/${WEFT_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# The host's own libraries and package configs must never be picked up.
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)

# FindOpenSSL (and any pkg_check_modules) asks pkg-config first: point it at the arm64 .pc files only,
# or it hands back the host's /usr/lib/x86_64-linux-gnu as a hint.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${WEFT_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and add_test commands naming a target) run the aarch64 binaries through qemu-user. The guest's
# loader (PT_INTERP /lib/ld-linux-aarch64.so.1) comes from -L /usr/aarch64-linux-gnu, the cross libc; its
# libc.so.6 must come from the same place, but the loader searches /lib/aarch64-linux-gnu first, which
# holds libc6:arm64 (pulled in by libssl-dev:arm64), a different build (2.36-9+deb12uN against the cross
# 2.36-8cross1): that mismatched pair hangs in the first pthread_create. So the guest's LD_LIBRARY_PATH
# puts the cross libc, libstdc++ and libgcc_s first; libssl3 and libcares2 still come from
# /usr/lib/aarch64-linux-gnu, further down the loader's path.
find_program(WEFT_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(WEFT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WEFT_QEMU_AARCH64} -L /usr/${WEFT_CROSS_TRIPLE}
      -E LD_LIBRARY_PATH=/usr/${WEFT_CROSS_TRIPLE}/lib)
endif()
