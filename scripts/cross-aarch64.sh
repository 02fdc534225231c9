#!/usr/bin/env bash
# Cross-builds weft for aarch64 with Debian 12's cross toolchain and runs its unit and runtime suites
# under qemu-user (`make aarch64`). Idempotent: it adds the arm64 architecture to dpkg and asks apt only
# for what is missing (apt-get update only when something must be installed), reconfigures the build
# tree in place, and rebuilds only what changed.
#
# It builds only the unit tests and the runtime suites (no examples, no tool, no net/http/process
# suites), runs each on the single loop and on 4 workers, prints a summary with the time each phase
# took, and exits non-zero if any phase fails or a test fails.
#
# Knobs (environment):
#   AARCH64_BUILD         build tree (build-aarch64)
#   JOBS                  parallel compile and test jobs (nproc)
#   AARCH64_TEST_TIMEOUT  seconds a test without a TIMEOUT of its own (the unit_* ones) may run (300);
#                         the suites keep theirs from tests/CMakeLists.txt (300)
#   AARCH64_TEST_BUDGET   seconds the whole test phase may take: ctest starts nothing after it and
#                         stops what still runs (900; a normal run needs about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${AARCH64_BUILD:-build-aarch64}
jobs=${JOBS:-$(nproc)}
test_timeout=${AARCH64_TEST_TIMEOUT:-300}
test_budget=${AARCH64_TEST_BUDGET:-900}
triple=aarch64-linux-gnu

# The suites to run: every unit_* test, and these runtime suites (with their _workers4 variants where
# tests/CMakeLists.txt defines one). A name not in the tree yet is reported and skipped.
suites=(
  error_codes task_basic task_cancel task_combinators task_group rt_spawn rt_shutdown rt_slow_task
  time_sleep time_timeout sync_primitives rt_workers stress_many parallel_work
)

declare -A phase_seconds=()
phases=()
phase_start=0
begin_phase() { current_phase=$1; phases+=("$1"); phase_start=$SECONDS; echo "== aarch64: $1"; }
end_phase() { phase_seconds[$current_phase]=$((SECONDS - phase_start)); }
print_times() {
  local p line=""
  for p in "${phases[@]}"; do
    line+="$p ${phase_seconds[$p]:-$((SECONDS - phase_start))}s, "
  done
  echo "aarch64: phases: ${line%, }"
}
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    phase_seconds[$current_phase]=${phase_seconds[$current_phase]:-$((SECONDS - phase_start))}
    print_times
    echo "aarch64: FAILED in phase '$current_phase' (exit $rc)"
  fi
}
current_phase=setup
trap on_exit EXIT

# --- install -----------------------------------------------------------------------------------------
begin_phase install
host_packages=(
  cmake ninja-build                 # build
  "g++-${triple}"                   # the cross compiler, with its own libc/libstdc++ in /usr/${triple}
  qemu-user                         # qemu-aarch64, ctest's CMAKE_CROSSCOMPILING_EMULATOR
  libexpected-dev                   # tl::expected: header-only, arch-independent
  node-llhttp                       # llhttp's C sources in /usr/share/llhttp, compiled into weft
)
arm64_packages=(                    # what libweft and the tests link, for the target
  libssl-dev:arm64 libc-ares-dev:arm64 libgtest-dev:arm64
)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "aarch64: dpkg --add-architecture arm64"
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
  need_update=1
fi

installed() {
  local p
  for p; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1; done
}
missing=()
for p in "${host_packages[@]}" "${arm64_packages[@]}"; do installed "$p" || missing+=("$p"); done

if ((${#missing[@]} > 0)); then
  # Update when the arm64 lists are absent or some package is unknown to apt; otherwise try the lists
  # we have, and update once if they turn out stale.
  if ((need_update == 0)); then
    compgen -G '/var/lib/apt/lists/*binary-arm64_Packages*' >/dev/null || need_update=1
  fi
  if ((need_update == 0)); then
    for p in "${missing[@]}"; do
      apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]' || { need_update=1; break; }
    done
  fi
  if ((need_update)); then "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq; fi
  echo "aarch64: installing ${missing[*]}"
  apt_log=$(mktemp)
  apt_install() {
    "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1
  }
  if ! apt_install && ((need_update == 0)); then
    "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_install || true
  fi
  # apt's own summary: the download size and the disk space.
  grep -E '^(Need to get|After this operation)' "$apt_log" | sed 's/^/aarch64: apt: /' || true
  if ! installed "${missing[@]}"; then
    tail -n 30 "$apt_log" >&2
    echo "aarch64: apt-get install failed (log above, whole log in $apt_log)" >&2
    exit 1
  fi
  rm -f "$apt_log"
else
  echo "aarch64: cross toolchain, qemu-user and arm64 packages already installed"
fi
end_phase

# --- configure ---------------------------------------------------------------------------------------
begin_phase configure
cmake -S . -B "$build" -G Ninja --log-level=WARNING \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/${triple}.cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_TOOLS=OFF -DWEFT_BUILD_BENCH=OFF
# A host library picked up by mistake would only show at link time, as a confusing error: catch it here.
if grep -E '^[A-Za-z_-]*(OPENSSL|GTest|GTEST|tl-expected)[A-Za-z_-]*:[A-Z]*=.*x86_64-linux-gnu' "$build/CMakeCache.txt"; then
  echo "aarch64: the configure step found host (x86_64) libraries, above" >&2
  exit 1
fi
# Without qemu as the emulator ctest would exec the aarch64 binaries directly.
if ! grep -q 'qemu-aarch64' "$build/tests/CTestTestfile.cmake"; then
  echo "aarch64: the tests do not run under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR unset?)" >&2
  exit 1
fi
end_phase

# --- build -------------------------------------------------------------------------------------------
begin_phase build
all_targets=$(cmake --build "$build" --target help | sed -n 's/^\([A-Za-z0-9_]*\): phony$/\1/p')
mapfile -t targets < <(grep -E '^unit_[A-Za-z0-9_]+$' <<<"$all_targets" || true)
for s in "${suites[@]}"; do
  if grep -qx "$s" <<<"$all_targets"; then targets+=("$s"); else echo "aarch64: no target '$s' in this tree, skipped"; fi
done
echo "aarch64: building ${#targets[@]} test programs"
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
# The binaries must be aarch64 ones (not host ones that would run natively without qemu).
if ! readelf -h "$build/tests/${targets[0]}" | grep -q 'Machine:.*AArch64'; then
  echo "aarch64: $build/tests/${targets[0]} is not an AArch64 binary" >&2
  exit 1
fi
end_phase

# --- test --------------------------------------------------------------------------------------------
begin_phase test
regex="^($(IFS='|'; echo "${targets[*]}"))(_workers4)?\$"
# --stop-time: past the budget ctest starts no new test and cuts running ones short (as failures), so
# the phase is bounded and still ends with ctest's summary. The outer timeout is a backstop.
stop_at=$(date -d "+${test_budget} seconds" +%H:%M:%S)
test_rc=0
ctest_log="$build/aarch64-ctest.log"
# timeout runs ctest in a process group of its own: pass an interrupt of this script on to it.
timeout --kill-after=30 $((test_budget + 120)) \
  ctest --test-dir "$build" -R "$regex" -j "$jobs" --timeout "$test_timeout" --stop-time "$stop_at" \
    --output-on-failure --output-log "$ctest_log" --output-junit aarch64-junit.xml &
ctest_group=$!
trap 'kill -TERM -- "-$ctest_group" 2>/dev/null; exit 143' INT TERM
wait "$ctest_group" || test_rc=$?
trap - INT TERM
end_phase

print_times
summary=$(grep -E '^[0-9]+% tests passed' "$ctest_log" || echo "no ctest summary (killed at the budget?)")
echo "aarch64: tests: $summary"
if ((test_rc != 0)); then
  sed -n '/The following tests FAILED:/,$p' "$ctest_log" | grep -E '^[[:space:]]+[0-9]+ - ' |
    sed -E 's/^[[:space:]]+/aarch64: failed: /' || true
  echo "aarch64: FAILED: tests failed under qemu-aarch64 (ctest exit $test_rc); log $ctest_log, junit $build/aarch64-junit.xml"
  trap - EXIT
  exit 1
fi
echo "aarch64: OK: all selected tests passed under qemu-aarch64"
