// blocking_pool: threads for work that blocks (file I/O, legacy libraries, sleeps in C code), so that
// no event loop stalls on it. See weft/blocking.hpp for the user's side.
//
// Protocol (everything under mu_):
// - submit() queues a job and hands it to an idle thread, or starts a new thread while there are fewer
//   than max_threads; beyond that, jobs wait in order.
// - A thread takes the oldest job (stage queued -> running), runs it without the lock, then marks it
//   done and wakes its task on the task's own loop. It must not touch the job after that wake: the
//   task may resume and free it at once.
// - A thread idle for keep_alive exits. Threads are detached; the destructor waits until all are gone.
// - Cancelling a queued job unlinks it (stage cancelled); a running job cannot be stopped and its task
//   waits for it, because the job may use the task's frame.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "weft/detail/atomic.hpp"
#include "weft/blocking.hpp"
#include "weft/detail/intrusive_list.hpp"
#include "weft/metrics.hpp"

namespace weft::detail {

class blocking_pool {
 public:
  blocking_pool(std::size_t max_threads, std::chrono::nanoseconds keep_alive) noexcept
      : max_threads_(max_threads == 0 ? 1 : max_threads), keep_alive_(keep_alive) {}
  ~blocking_pool() { shutdown(); }
  /// Waits for the running jobs and the threads to finish; queued jobs are left unstarted (the
  /// runtime destroys their tasks next, and they unlink themselves with cancel()).
  void shutdown() noexcept;
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  void submit(blocking_job* job);
  /// Unlinks `job` if it has not started; true if it was unlinked.
  bool cancel(blocking_job* job) noexcept;
  /// Threads alive now (a snapshot).
  std::size_t threads() const noexcept;
  /// Fills the blocking pool's fields of `m` (a snapshot, under the lock).
  void read_metrics(runtime_metrics& m) const noexcept;

 private:
  void thread_main() noexcept;

  mutable weft::detail::mutex mu_;
  weft::detail::condition_variable work_cv_;
  weft::detail::condition_variable exit_cv_;
  intrusive_list<blocking_job> queue_;
  std::size_t queued_ = 0;
  std::size_t threads_ = 0;
  std::size_t idle_ = 0;
  std::uint64_t submitted_ = 0;
  bool stopping_ = false;
  const std::size_t max_threads_;
  const std::chrono::nanoseconds keep_alive_;
};

}  // namespace weft::detail
