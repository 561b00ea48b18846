#!/bin/sh
# Runs pq-bench at its tiny --quick sizes: it must finish, count every job exactly (it exits non-zero on any
# mismatch) and print its markdown table; then W6, which the default run leaves out, in its short version.
# No timing is asserted: this machine's speed is nobody's business.
set -eu
bench=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bench" --quick "$@" > "$out"
grep -q '^| workload | pq | floor | ratio |' "$out"
grep -q '^Server: PostgreSQL .*(fsync = ' "$out" || { echo "no server profile in:"; cat "$out"; exit 1; }
for workload in 'W1 ' W1c W2 'W3 drain, Worker c1, prefetch 0' 'W3 get(tx) in 4 threads, 1-row DELETE floor' W4 W5 \
    pq-worker; do
  grep -qF "| $workload" "$out" || { echo "no $workload row in:"; cat "$out"; exit 1; }
done
if grep -q '^| W6' "$out"; then echo "W6 ran without being asked for:"; cat "$out"; exit 1; fi
cat "$out"
"$bench" --quick --only W6 "$@" > "$out"
for holder in 'REPEATABLE READ snapshot held' 'idle-in-transaction writer'; do
  grep -qF "| W6 $holder, last minute's jobs" "$out" || { echo "no W6 $holder row in:"; cat "$out"; exit 1; }
done
grep -q 'EXPLAIN (ANALYZE, BUFFERS) of a one-job claim' "$out" || { echo "no claim plan in:"; cat "$out"; exit 1; }
cat "$out"
