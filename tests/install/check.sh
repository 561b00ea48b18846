#!/bin/sh
# Installs the build into a scratch root, then checks it the way a user would: the installed tools run without
# LD_LIBRARY_PATH, the demo is not installed, and README's build line (plus PQ_APP_CXXFLAGS, a sanitizer
# build's) compiles, links and runs a program, also without LD_LIBRARY_PATH.
set -eu
build=$1
source=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --quiet
unset LD_LIBRARY_PATH

bin=$(dirname "$(find "$root" -path '*/bin/pq' -type f | head -n 1)")
version=$("$bin/pq" version)
case $version in "pq "*) ;; *) echo "installed pq version printed: $version"; exit 1 ;; esac
"$bin/pq-worker" --help > /dev/null
"$bin/pq-scheduler" --help > /dev/null
if [ -n "$(find "$root" -name 'pq-demo*')" ]; then echo "pq-demo was installed"; exit 1; fi
echo "installed tools run without LD_LIBRARY_PATH: $version"

pc=$(dirname "$(find "$root" -name pq-queue.pc | head -n 1)")
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$root"
line=$(grep -m 1 '^c++ -std=c++20 app.cpp ' "$source/README.md")
cp "$source/tests/install/app.cpp" "$root/app.cpp"
cd "$root"
# shellcheck disable=SC2086 # PQ_APP_CXXFLAGS is a list of flags
eval "$line -o app ${PQ_APP_CXXFLAGS:-}"
out=$(./app)
test "$out" = '{"ok": true}'
echo "installed pq compiled with README's line ($line), linked and ran: $out"
