#!/usr/bin/env bash
# test.sh: everything `make test` runs, in order, with a closing line CI can read:
#   "test: N passed, N failed"
# Criterion runs count each test case; every other step (a build, gen-check, a fuzz smoke run, an
# integration script, a simulator batch) counts as one.
#
# The fuzz smoke runs go JOBS at a time (each fuzzer uses one core for its FUZZ_SMOKE_SECONDS);
# their results are reported and counted in order once they have all ended.
#
# Environment: FUZZ_SMOKE_SECONDS (default 10) per fuzz target; JOBS (default 2); SIM_SEEDS
# (default 300) clean simulator seeds; SIM_PLANT_SEEDS (default 100) seeds a planted bug must be
# caught within.
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-2}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-10}
SIM_SEEDS=${SIM_SEEDS:-300}
SIM_PLANT_SEEDS=${SIM_PLANT_SEEDS:-100}
passed=0
failed=0
failures=()
log_dir=build/test-logs
mkdir -p "$log_dir"

note_fail() {
  failed=$((failed + 1))
  failures+=("$1")
  echo "FAIL: $1"
}

# step NAME CMD...: runs CMD, its output to a log; counts one pass or one failure.
step() {
  local name=$1
  shift
  local log="$log_dir/$(echo "$name" | tr ' /' '__').log"
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok:   $name ($((SECONDS - start)) s)"
  else
    note_fail "$name ($((SECONDS - start)) s, log $log)"
    tail -n 30 "$log" | sed 's/^/      /'
  fi
}

# step_bg NAME CMD...: as step, but CMD runs in the background, at most JOBS at a time (for
# steps that each use one core, so that two of them on two cores take the wall time of one);
# steps_collect waits for them all and reports and counts each, in the order they started.
bg_names=()
step_bg() {
  local name=$1
  shift
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n
  done
  local log="$log_dir/$(echo "$name" | tr ' /' '__').log"
  rm -f "$log.rc"
  (
    start=$SECONDS
    "$@" >"$log" 2>&1
    echo "$? $((SECONDS - start))" >"$log.rc"
  ) &
  bg_names+=("$name")
}

steps_collect() {
  wait
  local name log rc secs
  for name in "${bg_names[@]}"; do
    log="$log_dir/$(echo "$name" | tr ' /' '__').log"
    rc=1
    secs="?"
    [ -f "$log.rc" ] && read -r rc secs <"$log.rc"
    rm -f "$log.rc"
    if [ "$rc" -eq 0 ]; then
      passed=$((passed + 1))
      echo "ok:   $name ($secs s)"
    else
      note_fail "$name ($secs s, log $log)"
      tail -n 30 "$log" | sed 's/^/      /'
    fi
  done
  bg_names=()
}

# criterion NAME BINARY: runs a Criterion binary and counts its test cases.
criterion() {
  local name=$1 bin=$2
  local log="$log_dir/$name.log"
  local start=$SECONDS
  "$bin" --jobs="$JOBS" >"$log" 2>&1
  local rc=$?
  local synth
  synth=$(grep -a 'Synthesis:' "$log" | tail -n 1)
  local tested passing
  tested=$(echo "$synth" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
  passing=$(echo "$synth" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
  if [ -z "$tested" ]; then
    note_fail "$name: no Criterion synthesis (exit $rc, log $log)"
    tail -n 30 "$log" | sed 's/^/      /'
    return
  fi
  passed=$((passed + passing))
  if [ "$passing" -ne "$tested" ] || [ $rc -ne 0 ]; then
    failed=$((failed + tested - passing))
    [ "$passing" -eq "$tested" ] && failed=$((failed + 1))
    failures+=("$name (log $log)")
    echo "FAIL: $name: $synth"
    grep -a -E '\[FAIL\]|\[----\].*(Assertion|CRASH|crash)|ERROR: AddressSanitizer|runtime error' "$log" | head -n 30 | sed 's/^/      /'
  else
    echo "ok:   $name: $tested tests ($((SECONDS - start)) s)"
  fi
}

fuzz_smoke() {
  local bin=$1
  local name
  name=$(basename "$bin")
  local scratch
  scratch=$(mktemp -d)
  mkdir -p "fuzz/corpus/$name"
  # New inputs go to the scratch folder; the committed corpus is only read.
  "$bin" -max_total_time="$FUZZ_SMOKE_SECONDS" -print_final_stats=1 "$scratch" "fuzz/corpus/$name"
  local rc=$?
  rm -rf "$scratch"
  return $rc
}

echo "== dependencies"
step "deps" scripts/deps.sh

echo "== gcc build and unit tests"
step "build gcc" make -s -j"$JOBS" all unit integ benches
step "gen-check" make -s gen-check
step "format-check" make -s format-check
criterion "unit-gcc" build/test/unit

echo "== simulator (docs/simulation.md): $SIM_SEEDS clean seeds, reproducibility, regressions, plants"
step "sim reproducible" scripts/sim_test.sh repro 2
step "sim clean seeds" scripts/sim_test.sh clean 1 "$SIM_SEEDS"
step "sim regression seeds" scripts/sim_test.sh regress
step "build sim plants" make -s -j"$JOBS" sim-plants
for plant in ack_before_sync skip_offset apply_retry_twice deliver_past_mark lose_batch sync_before_write; do
  step "sim plant $plant" scripts/sim_test.sh plant "$plant" "$SIM_PLANT_SEEDS"
done
step "sim no plants in strom" scripts/sim_test.sh no-plants

echo "== clang build and unit tests"
step "build clang" make -s -j"$JOBS" CC=clang BUILD=build/clang all unit integ benches
criterion "unit-clang" build/clang/test/unit

echo "== ASan+UBSan build and unit tests"
step "build asan" make -s -j"$JOBS" SAN=1 BUILD=build/asan all unit integ
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  criterion "unit-asan" build/asan/test/unit

echo "== fuzz smoke runs ($FUZZ_SMOKE_SECONDS s each, $JOBS at a time: a fuzzer uses one core)"
step "build fuzz" make -s -j"$JOBS" fuzz-build
for f in build/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  step_bg "fuzz $(basename "$f")" fuzz_smoke "$f"
done
steps_collect

echo "== integration tests"
for t in tests/integ/*.sh; do
  [ -f "$t" ] || continue
  step "integ $(basename "$t" .sh)" timeout 600 bash "$t"
done

echo
if [ $failed -ne 0 ]; then
  echo "failures:"
  printf '  %s\n' "${failures[@]}"
fi
echo "test: $passed passed, $failed failed"
[ $failed -eq 0 ]
