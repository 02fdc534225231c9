#include "runtime/blocking_pool.hpp"

#include <thread>
#include <utility>

#include "runtime/worker.hpp"
#include "weft/detail/frame_alloc.hpp"

namespace weft::detail {

void blocking_pool::shutdown() noexcept {
  std::unique_lock lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  exit_cv_.wait(lock, [this] { return threads_ == 0; });
}

void blocking_pool::submit(blocking_job* job) {
  std::lock_guard lock(mu_);
  job->stage = blocking_stage::queued;
  queue_.push_back(job);
  ++queued_;
  ++submitted_;
  // Idle threads that were notified may not have woken yet: start a thread while queued jobs
  // outnumber the idle ones.
  if (queued_ > idle_ && threads_ < max_threads_) {
    weft::detail::thread([this] { thread_main(); }).detach();  // may throw: the job stays queued
    ++threads_;
  }
  if (idle_ > 0) work_cv_.notify_one();
}

bool blocking_pool::cancel(blocking_job* job) noexcept {
  std::lock_guard lock(mu_);
  if (job->stage != blocking_stage::queued) return false;
  queue_.remove(job);
  --queued_;
  job->stage = blocking_stage::cancelled;
  return true;
}

std::size_t blocking_pool::threads() const noexcept {
  std::lock_guard lock(mu_);
  return threads_;
}

void blocking_pool::read_metrics(runtime_metrics& m) const noexcept {
  std::lock_guard lock(mu_);
  m.blocking_threads = threads_;
  m.blocking_idle_threads = idle_;
  m.blocking_queue_depth = queued_;
  m.blocking_jobs = submitted_;
}

void blocking_pool::thread_main() noexcept {
  std::unique_lock lock(mu_);
  for (;;) {
    if (blocking_job* job = queue_.head; job != nullptr && !stopping_) {
      queue_.remove(job);
      --queued_;
      job->stage = blocking_stage::running;
      lock.unlock();
      job->invoke(job);
      lock.lock();
      job->stage = blocking_stage::done;
      worker* home = job->home;
      // Last touch of the job: once woken, its task may free it.
      home->remote_schedule(job->handle, job->ctx);
      continue;
    }
    if (stopping_) break;
    ++idle_;
    bool woken = work_cv_.wait_for(lock, keep_alive_, [this] { return !queue_.empty() || stopping_; });
    --idle_;
    if (!woken) break;  // idle for keep_alive: let the thread go
  }
  frame_cache_release_thread();  // a job that ran tasks of its own left frames in this thread's cache
  --threads_;
  exit_cv_.notify_all();
}

}  // namespace weft::detail
