#!/usr/bin/env bash
# make stress: weft's stress programs and its runtime suites on 2, 4 and 8 workers, each under chaos
# (WEFT_CHAOS=SEED, see src/runtime/chaos.hpp), in the build given (make stress: the TSan build).
# Bounded: each command by its own timeout, the whole run by STRESS_SECONDS (default 1200). A failure
# prints the command and the seed that replays it; the run ends with `stress: N passed, M failed`.
#   scripts/stress.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: scripts/stress.sh BUILD_DIR}
tests="$build/tests"
seeds=${WEFT_STRESS_SEEDS:-"20261202 $((RANDOM * 32768 + RANDOM))"}
budget=${STRESS_SECONDS:-1200}
suites='^(task_basic|task_cancel|task_combinators|task_group|rt_spawn|rt_shutdown|time_sleep|time_timeout|sync_primitives|rt_workers|stress_many|unit_sync_waiter|unit_scheduler_idle)$'
start=$SECONDS
passed=0
failed=0

run() {  # run SEED WORKERS COMMAND...
  local seed=$1 workers=$2
  shift 2
  if ((SECONDS - start > budget)); then
    echo "stress: time budget of ${budget}s spent; skipping: $*"
    return
  fi
  if WEFT_CHAOS=$seed WEFT_TEST_WORKERS=$workers TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} \
      timeout 600 "$@" > "$build/stress.log" 2>&1; then
    passed=$((passed + 1))
    grep -E '^[0-9]+ (trials|rounds)' "$build/stress.log" || true
  else
    failed=$((failed + 1))
    tail -n 40 "$build/stress.log"
    echo "stress: FAILED; replay with: WEFT_CHAOS=$seed WEFT_TEST_WORKERS=$workers $*"
  fi
}

echo "stress: chaos seeds $seeds (WEFT_STRESS_SEEDS to choose), budget ${budget}s"
for seed in $seeds; do
  for workers in 2 4 8; do
    run "$seed" "$workers" "$tests/stress_timeout_channel" 20000 "$workers"
    run "$seed" "$workers" "$tests/stress_sync_accounting" 5 "$workers" "$seed"
    run "$seed" "$workers" ctest --test-dir "$build" --output-on-failure -j 2 -R "$suites"
  done
done
echo "stress: $passed passed, $failed failed ($((SECONDS - start)) s)"
((failed == 0))
