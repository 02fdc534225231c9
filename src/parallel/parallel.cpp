// The part of weft/parallel.hpp that does not depend on the body's type.
#include <algorithm>
#include <chrono>
#include <utility>
#include <system_error>

#include "parallel/compute_pool.hpp"
#include "runtime/worker.hpp"
#include "trace/trace.hpp"
#include "weft/error.hpp"
#include "weft/parallel.hpp"

namespace weft::detail {
namespace {

constexpr std::size_t chunks_per_worker = 32;

/// The wait on a parallel job's `done` event, noted in the trace as a wait on the compute pool (the
/// event notes itself as an event). Nothing of the awaiter is touched after the park, which may already
/// have been woken: only this thread's note is written.
struct awaiting_the_compute_pool {
  void_wait_awaiter<event> inner;
  bool await_ready() const noexcept { return inner.await_ready(); }
  template <weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    bool parked = inner.await_suspend(h);
    if (parked) note_suspend(suspend_reason::compute_pool);
    return parked;
  }
  result<void> await_resume() noexcept { return inner.await_resume(); }
};

void finish_runner(const job_ref& job) {
  if (job->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // lifetime: `done` first, `finished` last. Setting `done` wakes the awaiting task through its loop;
  // `finished` releases a waiter that may then destroy that loop (a frame destroyed at runtime
  // shutdown waits for it: parallel_run_async), so the wake-up must have landed by then. (In the
  // other order, set() posted to a destroyed worker: runtime/shutdown_waits_for_running_chunks.)
  job->done.set();
  job->finished.store(1, std::memory_order_release);
  job->finished.notify_all();
}

void run_one(parallel_job& job, std::size_t chunk) {
  bool skip = job.failed.load(std::memory_order_relaxed) || (job.caller != nullptr && job.caller->cancelled());
  if (skip) return;
  std::size_t begin = chunk * job.chunk_size;
  std::size_t end = std::min(job.count, begin + job.chunk_size);
  try {
    job.run(job.body, chunk, begin, end);
  } catch (...) {
    if (!job.failed.exchange(true, std::memory_order_acq_rel)) job.error = std::current_exception();
  }
}

std::int64_t steady_ns() noexcept { return std::chrono::steady_clock::now().time_since_epoch().count(); }

/// Claims and runs chunks until none is left.
void run_chunks(parallel_job& job) {
  for (;;) {
    std::size_t c = job.next_chunk.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.chunks) return;
    if (job.times.empty()) {
      run_one(job, c);
      continue;
    }
    std::int64_t start = steady_ns();  // traced: each chunk's times, read by the caller once all end
    run_one(job, c);
    worker* w = current_worker();
    job.times[c] = {start, steady_ns(), w != nullptr ? static_cast<std::uint32_t>(w->index()) : 0};
  }
}

// A runner as a compute-pool task. Its job_ref keeps the job (not the caller's body) alive until
// the last runner has signalled.
task<void> runner_task(job_ref job) {
  run_chunks(*job);
  finish_runner(job);
  co_return;
}

void start_runners(const job_ref& job) {
  for (std::size_t r = 0; r < job->runners; ++r) compute_spawn(runner_task(job));
}

void rethrow_failure(parallel_job& job) {
  // Taken out of the job, not copied: the job may outlive this call on a runner's thread (its last
  // reference drops there), and the exception must not be destroyed there, after the caller read it,
  // ordered only by the reference count (TSan saw it as a race under weft::mpi, where libstdc++'s count
  // was not instrumented).
  if (job.failed.load(std::memory_order_acquire)) std::rethrow_exception(std::exchange(job.error, nullptr));
}

}  // namespace

void parallel_plan(parallel_job& job, std::size_t count) {
  job.count = count;
  if (count == 0) {
    job.chunks = 0;
    return;
  }
  std::size_t target = std::max<std::size_t>(1, compute_workers() * chunks_per_worker);
  job.chunks = std::min(count, target);
  job.chunk_size = (count + job.chunks - 1) / job.chunks;
  job.chunks = (count + job.chunk_size - 1) / job.chunk_size;
  job.runners = std::min(job.chunks, compute_workers());
  job.remaining.store(job.runners, std::memory_order_relaxed);
}

void parallel_run(const job_ref& job) {
  if (job->chunks == 0) return;
  if (on_compute_pool()) {
    // Nested inside parallel work: waiting here could leave every worker waiting. Run it inline.
    run_chunks(*job);
    rethrow_failure(*job);
    return;
  }
  start_runners(job);
  while (job->finished.load(std::memory_order_acquire) == 0) job->finished.wait(0, std::memory_order_acquire);
  rethrow_failure(*job);
}

task<void> parallel_run_async(job_ref job) {
  if (job->chunks == 0) co_return;
  job->caller = co_await current_context();
  trace::recorder* traced = current_tracer();
  if (traced != nullptr && job->caller->trace_id() != 0) [[unlikely]] job->times.resize(job->chunks);
  start_runners(job);
  // lifetime: the runners call the body (in the caller's frame) and read the caller's context until
  // the last one ends. Should this frame be destroyed while it waits (runtime shutdown), no chunk
  // starts from then on, and the destruction waits for the chunks already running.
  struct stop_runners_if_destroyed {
    parallel_job& job;
    ~stop_runners_if_destroyed() {
      if (job.finished.load(std::memory_order_acquire) != 0) return;  // the usual way: all ended
      job.failed.store(true, std::memory_order_relaxed);
      while (job.finished.load(std::memory_order_acquire) == 0) job.finished.wait(0, std::memory_order_acquire);
    }
  } guard{*job};
  co_await awaiting_the_compute_pool{job->done.wait_through_cancel()};  // the chunks use the caller's body until they end
  // Every runner has ended (the event's set orders their writes of `times` before this read).
  if (!job->times.empty()) {
    if (trace::recorder* t = current_tracer()) {
      std::vector<trace::sink::timed_run> ran;
      for (const auto& c : job->times) {
        if (c.end != 0) ran.push_back({c.start, c.end, c.thread});  // 0: skipped (a failure or a cancel came first)
      }
      t->owner().compute_slices(job->caller->trace_id(), ran);
    }
  }
  rethrow_failure(*job);
  if (job->caller->cancelled()) {
    throw std::system_error(make_error_code(errc::operation_canceled), "parallel work cancelled");
  }
}

}  // namespace weft::detail
