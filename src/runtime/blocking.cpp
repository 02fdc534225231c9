// The task's side of spawn_blocking and offload (weft/blocking.hpp).
#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>

#include "weft/detail/atomic.hpp"
#include "weft/detail/coop.hpp"
#include "parallel/compute_pool.hpp"
#include "runtime/blocking_pool.hpp"
#include "runtime/worker.hpp"
#include "weft/blocking.hpp"
#include "weft/error.hpp"

namespace weft::detail {
namespace {

/// A job offloaded to the compute pool runs as a task there; the ticket lets that task and the
/// waiting one agree, without a lock, on who moves the job out of `queued` (run it, or cancel it).
struct compute_ticket {
  weft::detail::atomic<blocking_stage> stage{blocking_stage::queued};
  weft::detail::atomic<int> refs{2};
  blocking_job* job;
  static void unref(compute_ticket* t) noexcept {
    if (t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete t;
  }
};

compute_ticket* ticket_of(blocking_job* job) noexcept { return static_cast<compute_ticket*>(job->ticket); }

bool cancel_job(cancel_waiter* w) noexcept {
  auto* job = static_cast<blocking_job*>(w);
  bool unstarted;
  if (job->on_compute_pool) {
    blocking_stage queued = blocking_stage::queued;
    unstarted = ticket_of(job)->stage.compare_exchange_strong(queued, blocking_stage::cancelled);
  } else {
    unstarted = job->home->blocking().cancel(job);
  }
  if (unstarted) {
    job->stage = blocking_stage::cancelled;
    current_worker()->schedule(job->handle, job->ctx);
  }
  // Started: it runs to its end and wakes the task then, with its value.
  return unstarted;
}

task<void> run_on_compute(compute_ticket* t) {
  blocking_stage queued = blocking_stage::queued;
  if (t->stage.compare_exchange_strong(queued, blocking_stage::running)) {
    blocking_job* job = t->job;
    job->invoke(job);
    worker* home = job->home;
    std::coroutine_handle<> h = job->handle;
    context* ctx = job->ctx;
    home->remote_schedule(h, ctx);  // the job may be freed from here on; the ticket is ours
    // lifetime: `done` last. It releases blocking_abandon's spin, after which the runtime, and `home`
    // with it, may be destroyed: the wake-up must have landed by then.
    t->stage.store(blocking_stage::done, std::memory_order_release);
  }
  compute_ticket::unref(t);
  co_return;
}

}  // namespace

bool blocking_submit(blocking_job* job, std::coroutine_handle<> h, context* ctx, bool compute) {
  if (ctx->cut_if_cancelled()) {
    job->stage = blocking_stage::cancelled;
    return yield_if_budget_spent(h, ctx);
  }
  worker* here = current_worker();
  job->handle = h;
  job->ctx = ctx;
  job->home = here;
  job->on_cancel = &cancel_job;
  job->on_compute_pool = compute;
  ctx->arm(job);
  note_suspend(compute ? suspend_reason::compute_pool : suspend_reason::blocking_pool);
  if (here->tracer() != nullptr) [[unlikely]] {
    job->traced_since = std::chrono::steady_clock::now().time_since_epoch().count();
  }
  if (compute) {
    auto* t = new compute_ticket;
    t->job = job;
    job->ticket = t;
    job->stage = blocking_stage::queued;
    compute_spawn(run_on_compute(t));
  } else {
    here->blocking().submit(job);
  }
  return true;
}

void blocking_resumed(blocking_job* job) {
  if (job->ctx != nullptr) job->ctx->disarm();
  if (job->traced_since != 0) [[unlikely]] {
    // The job as a span in the task that waited for it: from its submission to the task's resume.
    worker* w = current_worker();
    if (w != nullptr && w->tracer() != nullptr) {
      using steady = std::chrono::steady_clock;
      w->tracer()->span(w->running_task(), steady::time_point(steady::duration(job->traced_since)), steady::now(),
                        job->on_compute_pool ? "offload" : "spawn_blocking",
                        job->stage == blocking_stage::cancelled ? "\"cancelled\":true" : "");
    }
    job->traced_since = 0;
  }
  if (job->on_compute_pool) {
    compute_ticket::unref(ticket_of(job));
    job->ticket = nullptr;
    job->on_compute_pool = false;
  }
  if (job->stage == blocking_stage::cancelled) {
    throw std::system_error(make_error_code(errc::operation_canceled), "cancelled before it started");
  }
}

void blocking_abandon(blocking_job* job) noexcept {
  // Only when the waiting task's frame is destroyed before it resumed (runtime shutdown).
  if (job->on_compute_pool) {
    compute_ticket* t = ticket_of(job);
    blocking_stage queued = blocking_stage::queued;
    if (!t->stage.compare_exchange_strong(queued, blocking_stage::cancelled)) {
      // Running on the compute pool, which outlives this runtime: it uses this frame until done.
      while (t->stage.load(std::memory_order_acquire) != blocking_stage::done) thread_yield();
    }
    compute_ticket::unref(t);
    job->on_compute_pool = false;
  } else if (job->stage == blocking_stage::queued && job->home != nullptr) {
    job->home->blocking().cancel(job);
  }
}

}  // namespace weft::detail
