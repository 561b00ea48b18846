#!/bin/sh
# Runs one libFuzzer target for a bounded time. New inputs go to a scratch corpus in the build directory;
# the committed seeds are only read. A crash leaves its input there too, named by libFuzzer. Findings exit
# 1: libFuzzer's own code, 77, would read as "skipped" to meson.
#   run.sh TARGET SEEDS WORK SECONDS
set -eu
target=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work"
exec "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work" "$seeds"
