#!/bin/sh
# Runs pq-bench at its tiny --quick sizes: it must finish, count every job exactly (it exits non-zero on any
# mismatch) and print its markdown table. No timing is asserted: this machine's speed is nobody's business.
set -eu
bench=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bench" --quick "$@" > "$out"
grep -q '^| workload | pq | floor | ratio |' "$out"
for workload in W1 W2 W3 W4 W5 pq-worker; do
  grep -q "^| $workload" "$out" || { echo "no $workload row in:"; cat "$out"; exit 1; }
done
cat "$out"
