// What every model uses: the wrapper types (weft/detail/atomic.hpp) and short names for the memory
// orders, so that a model's protocol code reads like the code it follows.
#pragma once

#include <atomic>
#include <cstdlib>

#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"

namespace weft::model {

using weft::detail::atomic;
using weft::detail::cell;

inline constexpr auto relaxed = std::memory_order_relaxed;
inline constexpr auto acquire = std::memory_order_acquire;
inline constexpr auto release = std::memory_order_release;
inline constexpr auto acq_rel = std::memory_order_acq_rel;
inline constexpr auto seq_cst = std::memory_order_seq_cst;

/// For the two-thread models, which are small: a preemption bound their runs never reach (40 and 80
/// give the same runs), so the search covers every schedule, not only those within the default bound.
/// The largest of them (the oneshot, semaphore and mutex cases: 1.4 to 2 million runs, 22 to 37 s
/// here) get more than the default 60 s each, so that a slow machine does not cut them short; the
/// runner's budget for all cases together still holds.
inline options every_schedule() {
  options o;
  o.preemption_bound = 40;
  o.max_seconds = 150;
  return o;
}

/// For the two-thread models whose every schedule is too many to run in CI's time: every schedule
/// within `bound` preemptions (WEFT_MODEL_PREEMPTIONS overrides it, to search deeper by hand).
inline options schedules_within(unsigned bound) {
  options o;
  const char* env = std::getenv("WEFT_MODEL_PREEMPTIONS");
  o.preemption_bound = env != nullptr && *env != '\0' ? default_preemption_bound() : bound;
  return o;
}

/// For the models of whole runtimes (runtime_*.cpp): every schedule within `bound` preemptions (2 unless
/// said), under weak memory. A run of two workers and a plain thread takes some 150 scheduling points,
/// so a third preemption would multiply their runs by about a hundred; two are what a lost wake-up
/// needs (the sleeper preempted in its last look, the waker before its check), and make mutants shows
/// they find the known defects. The largest take some 35 s here: 150 s each leaves room for a slower
/// machine (make model gives the runner 400 s in all).
inline options runtime_schedules(unsigned bound = 2) {
  options o = schedules_within(bound);
  o.weak_memory = true;
  o.max_seconds = 150;
  return o;
}

}  // namespace weft::model
