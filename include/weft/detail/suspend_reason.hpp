// What a task waits on when it suspends, for the trace: each await point that parks a coroutine notes
// its reason in a byte of the thread's, and the loop, when the resume returns, reads the last one
// noted (its run slice's `suspended_on`). A single store per suspension, traced or not: cheaper than
// the branch that would skip it.
#pragma once

#include <cstdint>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

enum class suspend_reason : std::uint8_t {
  none,          // not noted: the task ended, or suspended on an await point that notes nothing
  timer,         // sleep_for, sleep_until
  readable,      // a socket or pipe read
  writable,      // a socket or pipe write, or a connect
  channel,       // a channel's send or receive, a oneshot
  semaphore,     // a semaphore or mutex
  event,         // an event, wait_group, or barrier
  join,          // a join handle, a task_group's join, when_all or when_any
  blocking_pool, // spawn_blocking
  compute_pool,  // offload, parallel_for
  signal,        // a signal set
  yield,         // yield_now
  dns,           // a name lookup
  mpi,           // an MPI operation (weft::mpi)
};

/// The reason noted last on this thread (the loop clears it before each traced resume).
struct last_suspend_tag;
inline suspend_reason& last_suspend() noexcept { return per_thread<last_suspend_tag, suspend_reason>::get(); }

inline void note_suspend(suspend_reason r) noexcept { last_suspend() = r; }

/// The reason's name in the trace ("timer", "readable", ...; "" for none).
const char* suspend_reason_name(suspend_reason r) noexcept;

}  // namespace weft::detail
