#!/usr/bin/env bash
# Fails if weft's sources use an atomic, fence, lock, condition variable or thread of the standard
# library directly (std::thread::hardware_concurrency and the like are fine): cross-thread code goes through weft/detail/atomic.hpp's wrappers, which the model build
# (tests/model, `make model`) replaces with checked ones. A plain std::atomic would be invisible there.
# Usage: scripts/check-wrappers.sh [SOURCE_DIR]   (ctest runs it as lint_cross_thread_wrappers)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
pattern='std::(atomic|atomic_thread_fence|atomic_signal_fence|atomic_flag|mutex|timed_mutex|recursive_mutex|shared_mutex|condition_variable|condition_variable_any)\b|std::thread([^:]|$)'
found=$(grep -rnE "$pattern" src include --include='*.hpp' --include='*.cpp' --include='*.h' \
  | grep -vE '^include/weft/detail/(atomic|model_atomic|model)\.hpp:' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$found" ]; then
  echo "plain standard-library synchronisation outside weft/detail/atomic.hpp (use weft::detail::atomic, mutex, thread, ...):"
  printf '%s\n' "$found"
  exit 1
fi
