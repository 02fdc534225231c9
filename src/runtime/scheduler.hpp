// scheduler: what a runtime's workers share — the workers themselves, their threads, the injection
// queue, and the counters that decide when a parked worker must be woken.
//
// A runtime with one worker (the default) runs it on the thread inside block_on, and none of this is
// shared. With N workers, each runs its own loop on its own thread from construction to destruction,
// and block_on only hands the task over and waits.
//
// Work distribution (see docs/design/runtime.md):
// - A task spawned on a worker goes to that worker's steal_queue; spawned from outside, to the
//   injection queue. A worker that runs out of work takes from the injection queue, then steals half of
//   another worker's not-yet-started tasks. A task never moves once it has started.
// - Waking without lost wake-ups: a worker about to sleep sets its `sleeping_`, counts itself in
//   `idle_`, then looks at every queue once more. Whoever adds work issues a seq_cst fence and then
//   reads `idle_` (notify_one): either the sleeper sees the work or the adder sees the sleeper.
// - At most one worker is woken to search at a time (`searching_`); a searcher that finds work wakes
//   the next one, so a burst of spawns brings workers in one by one instead of all at once.
//
// Virtual time with several workers: time stands still until every worker is idle and no work is
// queued anywhere; then the last one to go idle moves the shared clock to the earliest timer of all
// workers and wakes them all (under `pause_mu_`; tests only, speed does not matter there).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "weft/detail/atomic.hpp"
#include "weft/detail/sync_waiter.hpp"

#include "weft/detail/spawn_state.hpp"
#include "weft/metrics.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"

namespace weft::detail {
namespace trace {
class sink;
}


class worker;
class blocking_pool;

class scheduler {
 public:
  /// `workers` >= 1. With 1, the worker runs inside block_on; otherwise each gets a thread now.
  scheduler(runtime_options options, std::size_t workers);
  /// Stops the threads, then destroys the workers with whatever has not finished.
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  std::size_t size() const noexcept { return workers_.size(); }
  worker& at(std::size_t i) noexcept { return *workers_[i]; }
  bool threaded() const noexcept { return threaded_; }
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  /// The worker threads have ended (the runtime is being destroyed, on the thread that destroys it).
  bool threads_joined() const noexcept { return threads_joined_.load(std::memory_order_acquire); }

  /// Queues a task that has not started, from any thread, and wakes a worker for it.
  void inject(spawn_state_base* s) noexcept { inject_batch(&s, 1); }
  /// Queues `n` tasks at once (one lock), then wakes a worker.
  void inject_batch(spawn_state_base* const* items, std::size_t n) noexcept;
  /// Moves up to half a queue's worth of injected tasks into `w`'s queue; false if there were none.
  bool take_injected(worker& w) noexcept;
  bool has_injected() const noexcept { return injected_count_.load(std::memory_order_seq_cst) != 0; }
  /// Called after adding work: wakes one parked worker unless one is already searching.
  void notify_one() noexcept;
  /// True if any worker but `self` has tasks that could be stolen, or the injection queue has some.
  bool work_available(const worker* self) const noexcept;

  /// A worker out of work asks to spin a while before sleeping: yes while another worker is awake and
  /// fewer than half the awake workers (at least two) spin, so that spinners help a busy runtime
  /// without crowding it (Go limits its spinning threads the same way). Pair a true answer with
  /// stop_spinning().
  bool start_spinning() noexcept;
  void stop_spinning() noexcept { spinning_.fetch_sub(1, std::memory_order_relaxed); }

  // The idle and searching counts (see the protocol above).
  void enter_idle() noexcept { idle_.fetch_add(1, std::memory_order_seq_cst); }
  void leave_idle() noexcept { idle_.fetch_sub(1, std::memory_order_seq_cst); }
  void enter_searching() noexcept { searching_.fetch_add(1, std::memory_order_seq_cst); }
  /// Workers counted idle now (tests: never more than size()).
  int idle_count() const noexcept { return idle_.load(std::memory_order_relaxed); }
  /// Returns true if this was the last searcher.
  bool leave_searching() noexcept { return searching_.fetch_sub(1, std::memory_order_seq_cst) == 1; }

  // Virtual time shared by the workers of a paused runtime.
  clock::time_point paused_now() const noexcept {
    return clock::time_point(clock::duration(virtual_now_.load(std::memory_order_acquire)));
  }
  void advance_paused(clock::duration d) noexcept;
  /// A paused worker with nothing to do: returns the poll timeout it may use (0 or -1), moving the
  /// shared clock forward first if it is the last worker to go idle.
  int paused_idle(worker& w, clock::time_point next_due) noexcept;
  /// The worker woke from a paused idle poll.
  void paused_wake(worker& w) noexcept;

  /// Tasks that have not finished, across all workers and queues (exact only when quiescent).
  std::size_t live_tasks() const noexcept;
  /// runtime::metrics().
  runtime_metrics metrics() const;
  /// runtime::dump_flight_recorder().
  bool dump_flight_recorder(const std::string& path);

 private:
  void run_worker(std::size_t i);
  void stop_threads() noexcept;
  bool quiet_locked() const noexcept;

  std::unique_ptr<trace::sink> trace_;       // declared before the workers: they hand it their last events
  std::unique_ptr<blocking_pool> blocking_;  // declared first: destroyed after the workers
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<weft::detail::thread> threads_;
  bool threaded_;
  weft::detail::atomic<bool> stopping_{false};
  weft::detail::atomic<bool> threads_joined_{false};

  // The injection queue: chunks of tasks linked through live_next, as they were injected (a spilled
  // half of a worker's queue is one chunk), so that both ends take the lock for O(1) work.
  struct inject_chunk {
    spawn_state_base* head;
    std::size_t count;
  };
  mutable spin_lock inject_lock_;
  std::deque<inject_chunk> injected_;  // guarded by inject_lock_
  weft::detail::atomic<std::size_t> injected_count_{0};

  weft::detail::atomic<int> idle_{0};
  weft::detail::atomic<int> searching_{0};
  weft::detail::atomic<int> spinning_{0};

  weft::detail::mutex pause_mu_;
  std::size_t paused_idle_ = 0;  // guarded by pause_mu_
  weft::detail::atomic<clock::rep> virtual_now_;
};

}  // namespace weft::detail
