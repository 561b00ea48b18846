#!/bin/sh
# Installs the build into a scratch root, then compiles and runs a program the way a user would:
# c++ -std=c++20 app.cpp $(pkg-config --cflags --libs pq-queue), plus PQ_APP_CXXFLAGS (a sanitizer build's).
set -eu
build=$1
source=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --quiet
pc=$(dirname "$(find "$root" -name pq-queue.pc | head -n 1)")
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$root"
# shellcheck disable=SC2086 # PQ_APP_CXXFLAGS is a list of flags
c++ -std=c++20 ${PQ_APP_CXXFLAGS:-} "$source/tests/install/app.cpp" -o "$root/app" $(pkg-config --cflags --libs pq-queue)
libdir=$(dirname "$(find "$root" -name 'libpq-queue.so*' | head -n 1)")
out=$(LD_LIBRARY_PATH="$libdir" "$root/app")
test "$out" = '{"ok": true}'
echo "installed pq compiled, linked and ran: $out"
