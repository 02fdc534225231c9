// The model build's loops, for the models that compile weft's real sync primitives (sync_real.cpp):
// the waiter protocol (src/sync/sync_waiter.cpp, weft/detail/sync_waiter.hpp) needs only
// current_worker(), schedule() and wake_on() of the runtime (src/sync/wake.cpp and worker.cpp in
// weft), and loop.cpp defines those three over this `worker` instead. Scaffolding, not code under test.
//
// - One worker per model thread that runs tasks: the thread calls bind() first, which makes it the
//   thread's current_worker(). Model threads are fibers on one OS thread, so there is no thread_local
//   to use: bind() notes an address on the fiber's stack, and current_worker() picks the bound worker
//   whose stack holds the caller's locals (each fiber has its own stack). A thread that bound none (a
//   plain thread sending from outside the runtime) has no current worker.
// - schedule() (the owner's wake-ups: a cancel) appends to a local queue only the owner touches, like
//   the run queue. remote_schedule() (another thread's wake-up) appends under a weft::detail::mutex and
//   notifies a condition_variable: so the wake-up is a scheduling point, and what the waker did before
//   it happens-before the resume, as a real post does.
// - run_until(done) resumes the queued coroutines in order, then waits for remote ones, until done().
//   A wake-up that never comes leaves the thread waiting: the checker reports a deadlock.
// - Every resume first checks that the coroutine is suspended and not finished: the models' tasks
//   suspend at most once (at the awaited primitive) and then run to their end, so a second wake-up of
//   one await resumes a finished coroutine, which fails "a waiter is woken exactly once". A second
//   wake-up that comes after the loop stopped running is found by the final checks (idle()).
//
// model_task: the smallest coroutine whose promise is weft's (promise_base, so weft's awaiters accept
// it): started by hand with start(), its frame allocated with plain new (not weft's frame cache), kept
// after its end until the model destroys it (for done() and for abandon at shutdown).
#pragma once

#include <cstdlib>

#include <coroutine>
#include <cstddef>
#include <deque>
#include <mutex>
#include <new>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/context.hpp"
#include "weft/detail/model.hpp"
#include "weft/detail/promise_base.hpp"
#include "prelude.hpp"

namespace weft::detail {

class worker {
 public:
  worker() = default;
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker();

  /// In the model thread that runs this loop, before anything else: it becomes current_worker() there.
  void bind() noexcept;
  /// Queues `h` on this loop; its own thread only (a cancel's wake-up).
  void schedule(std::coroutine_handle<> h, context* ctx);
  /// Queues `h` on this loop from another thread.
  void remote_schedule(std::coroutine_handle<> h, context* ctx);
  /// Resumes what is queued, waiting for wake-ups from other threads, until `done()`.
  template <class Done>
  void run_until(Done done) {
    for (;;) {
      while (!local_.empty()) {
        std::coroutine_handle<> h = local_.front();
        local_.pop_front();
        resume(h);
      }
      if (done()) return;
      std::unique_lock lock(mu_);
      while (remote_.with([](const std::deque<std::coroutine_handle<>>& q) { return q.empty(); })) cv_.wait(lock);
      remote_.with_mut([this](std::deque<std::coroutine_handle<>>& q) {
        local_.insert(local_.end(), q.begin(), q.end());
        q.clear();
      });
    }
  }
  /// No wake-up is queued: for a final check, once the loop's tasks have ended (a wake-up left over is
  /// a second one for a task that ended, or one for a task that never runs again).
  bool idle() const {
    return local_.empty() && remote_.with([](const std::deque<std::coroutine_handle<>>& q) { return q.empty(); });
  }
  /// The loop stops for good (runtime shutdown): its queued wake-ups are dropped, and a later one fails
  /// the run (the frames it would resume are destroyed next).
  void stop();

 private:
  void resume(std::coroutine_handle<> h);

  std::deque<std::coroutine_handle<>> local_;                // the owner's
  mutex mu_;
  condition_variable cv_;
  cell<std::deque<std::coroutine_handle<>>> remote_;         // under mu_
  cell<bool> stopped_{false};                                // under mu_
};

}  // namespace weft::detail

namespace weft::model {

/// A coroutine for the models: weft's promise, a context of its own (root of its cancellation tree).
class model_task {
 public:
  struct promise_type : weft::detail::promise_base {
    // Plain allocation, hiding promise_base's frame cache (not under test, and it has locks of its own).
    static void* operator new(std::size_t size) { return ::operator new(size); }
    static void operator delete(void* p, std::size_t size) noexcept { ::operator delete(p, size); }

    model_task get_return_object() noexcept {
      return model_task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() noexcept {}

    weft::detail::context root;
  };

  model_task() = default;
  model_task(model_task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  model_task& operator=(model_task&& o) noexcept {
    if (h_ && h_.done()) destroy();
    h_ = std::exchange(o.h_, {});
    return *this;
  }
  // A frame still suspended here belongs to a failed run, whose fibers were abandoned (one may hold the
  // lock its awaiter's destructor would take): it is left, not destroyed. Models destroy such frames
  // themselves, in the run, with destroy().
  ~model_task() {
    if (h_ && h_.done()) destroy();
  }

  /// Runs the task up to its first suspension (or its end), on the calling thread's loop.
  void start() {
    promise_type& p = h_.promise();
    p.ctx = &p.root;
    p.continuation = std::noop_coroutine();  // at its end, back to whoever resumed it
    h_.resume();
  }
  bool done() const noexcept { return h_.done(); }
  weft::detail::context& ctx() noexcept { return h_.promise().root; }
  /// Destroys the frame, finished or not (a suspended one: as the runtime does at shutdown).
  void destroy() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }

 private:
  explicit model_task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

}  // namespace weft::model
