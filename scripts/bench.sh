#!/usr/bin/env bash
# bench.sh: what `make bench-micro` runs. Runs each benchmark program listed below in turn, shows its
# output, and collects every ssim result line (bench.result ...) into build/bench-results.ssim.
#
# To add a benchmark: build it from bench/<name>.c (the Makefile does that for every file there)
# and append its name to the list. A benchmark that fails is reported and the others still run;
# the script then exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

benches=(
  bench_base
  bench_ssim
  bench_ring
  bench_store
  bench_node
)

results=build/bench-results.ssim
mkdir -p build
: >"$results"
failed=()
for name in "${benches[@]}"; do
  bin=build/bench/$name
  echo "== $name"
  if [ ! -x "$bin" ]; then
    echo "bench: $bin is missing (make benches)"
    failed+=("$name")
    continue
  fi
  log=$(mktemp)
  "$bin" | tee "$log"
  rc=${PIPESTATUS[0]}
  grep -a '^bench\.result ' "$log" >>"$results"
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name exited with $rc"
    failed+=("$name")
  fi
  echo
done

echo "bench: $(wc -l <"$results") figures in $results"
if [ ${#failed[@]} -ne 0 ]; then
  echo "bench: failed: ${failed[*]}"
  exit 1
fi
