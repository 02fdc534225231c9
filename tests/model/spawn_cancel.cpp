// A replica of join_handle::cancel() from another thread (spawn_request_cancel, cancel_on_home in
// src/runtime/spawn.cpp) racing the task's start (worker::start_fresh, src/runtime/worker.cpp), its first
// await, its completion and the free of its state; the handle is dropped right after the cancel.
//
// The protocol: the canceller sets the root context's flag (seq_cst), then reads `started` (seq_cst).
// Not started: nothing more to do, the task will see the flag at its first await. Started: it reads
// `home` (fixed once started), and unless the task is done, takes a reference and posts a
// cancel_on_home to the home loop, which there cancels the context if the task still runs (cutting its
// await short) and drops the reference (freeing the state if that was the last). The home loop stores
// `started` (seq_cst) before the task's first resume; the task checks the flag at its first await.
//
// Properties:
// - No missed cancellation: a task that started after the flag was set sees it at its first await
//   (checked against the order in which the two stores happened), and every task whose await the cancel
//   should cut ends (a task left parked with nobody to cancel it is a deadlock).
// - The posted cancel never touches a freed state: it holds a reference (every access to the state is
//   checked against its free), and the state is freed exactly once.
//
// The replica (spawn_replica.hpp for the state, spawn_done and the handle): thread 0 is the task's
// home loop, which starts the task, runs it to its first await (or to its end), and then runs posted
// closures and the task until the task is done and the canceller has finished; thread 1 holds the
// handle, cancels, and drops it. The home loop's post queue is a count under a mutex and an
// eventfd-like counter. Left out: stealing before the start (here `home` never changes), the task's
// child contexts, a canceller on the home loop itself (ctx.cancel() at once, no thread involved).
//
// Defects the checker must find:
// - posted_cancel_without_reference: cancel_on_home posted without taking a reference (nor dropping one);
//   the task ends and the handle goes, and the posted cancel then reads a freed state.
// - flag_read_before_started: the task's first-await check of the flag made before its `started`
//   store is visible. The engine runs atomics sequentially consistently, so this variant writes the
//   reordering out. It is not hypothetical for the real code: context::cancelled() is a relaxed load,
//   and C++ (and an ARM CPU: a plain load after a store-release) lets it be satisfied before the
//   seq_cst store of `started` is visible (the store-buffering shape), unless a seq_cst fence or load
//   separates the two. See docs/design/model-checking.md.
#include <mutex>

#include "spawn_replica.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

using replica::spawn_state;
using replica::status;

enum class variant { fixed, posted_cancel_without_reference, flag_read_before_started };
enum class task_shape { awaits, ends_at_once };

struct home_loop {
  weft::detail::mutex post_mu;
  cell<int> posted;  // cancel_on_home closures: guarded by post_mu
  atomic<int> wakeups{0};

  void wake() {
    wakeups.fetch_add(1, std::memory_order_release);
    wakeups.notify_one();
  }
};

struct cancel_state {
  spawn_state s;
  home_loop home;
  atomic<bool> canceller_done{false};
  // The order of the two stores that race (plain: the step of each store runs the code up to the next
  // scheduling point, so the count is exact).
  int clock = 0, flag_set_at = 0, started_at = 0;
  bool saw_flag = false;          // at the task's first await
  bool saw_not_started = false;   // the canceller found `started` false and left it to the flag
  bool task_ended = false;
};

// handle.cancel(), then the handle is dropped (thread 1).
template <variant V>
void cancel_then_drop(cancel_state& c) {
  spawn_state& s = c.s;
  s.memory.atomic_access([&] { s.cancelled.store(true, std::memory_order_seq_cst); });  // set_cancelled()
  c.flag_set_at = ++c.clock;
  bool started = s.memory.atomic_access([&] { return s.started.load(std::memory_order_seq_cst); });
  c.saw_not_started = !started;
  auto running = [&s] {
    return s.memory.atomic_access([&s] { return s.task_status.load(std::memory_order_acquire); }) == status::running;
  };
  if (started && running()) {
    // home = s->home.load(relaxed): the home loop (fixed once started); not this thread.
    if (V != variant::posted_cancel_without_reference) {
      s.memory.atomic_access([&] { s.word.fetch_add(replica::ref_one, std::memory_order_relaxed); });
    }
    {
      std::lock_guard lock(c.home.post_mu);
      c.home.posted.with_mut([](int& n) { ++n; });
    }
    c.home.wake();
  }
  replica::release_handle(s);
  c.canceller_done.store(true, std::memory_order_release);
  c.home.wake();
}

// The task's end, on its loop: spawn_done, the end of final_suspend, free_buried.
void end_task(cancel_state& c) {
  c.task_ended = true;
  replica::finish<replica::variant::fixed>(c.s, false);
}

// cancel_on_home, run on the home loop: cancels the context if the task still runs (context::cancel():
// the await armed on it is cut short and the task scheduled), then drops its reference.
template <variant V>
bool run_cancel_on_home(cancel_state& c) {
  spawn_state& s = c.s;
  bool scheduled = false;
  if (s.memory.atomic_access([&] { return s.task_status.load(std::memory_order_acquire); }) == status::running) {
    s.memory.touch();
    if (s.armed.get()) {
      s.armed.set(false);
      scheduled = true;
    }
  }
  if (V != variant::posted_cancel_without_reference && s.unref()) s.memory.free();
  return scheduled;
}

template <variant V, task_shape Shape>
void home_loop_thread(cancel_state& c) {
  spawn_state& s = c.s;
  auto first_await = [&] {
    c.saw_flag = s.memory.atomic_access([&] { return s.cancelled.load(std::memory_order_relaxed); });
  };
  // start_fresh: adopt (home = this loop), `started`, then the task's first resume.
  if constexpr (V == variant::flag_read_before_started) {
    if (Shape == task_shape::awaits) first_await();
  }
  s.memory.atomic_access([&] { s.started.store(true, std::memory_order_seq_cst); });
  c.started_at = ++c.clock;
  bool task_ready = false;  // scheduled on this loop
  if constexpr (Shape == task_shape::awaits) {
    if (V != variant::flag_read_before_started) first_await();
    if (c.saw_flag) {
      end_task(c);  // the await completes at once with operation_canceled, and the task ends
    } else {
      s.memory.touch();
      s.armed.set(true);  // suspended on an await that only a cancel ends
    }
  } else {
    end_task(c);
  }
  for (;;) {
    bool quit = c.canceller_done.load(std::memory_order_acquire);
    int n = 0;
    {
      std::lock_guard lock(c.home.post_mu);
      n = c.home.posted.get();
      c.home.posted.set(0);
    }
    for (int i = 0; i < n; ++i) task_ready = run_cancel_on_home<V>(c) || task_ready;
    if (task_ready) {
      task_ready = false;
      end_task(c);
      continue;
    }
    if (quit && c.task_ended) return;
    if (n == 0) c.home.wakeups.wait(0, std::memory_order_acquire);
    c.home.wakeups.exchange(0, std::memory_order_acq_rel);
  }
}

void cancelled_and_freed(cancel_state& c) {
  require(c.task_ended, "the task ends");
  require(c.s.memory.frees() == 1, "the state is freed exactly once");
}

template <variant V, task_shape Shape>
report cancel_model(std::string_view name, options opts) {
  return check<cancel_state>(
      name,
      [](cancel_state& c) {
        thread canceller([&c] { cancel_then_drop<V>(c); });
        home_loop_thread<V, Shape>(c);
        canceller.join();
      },
      [](cancel_state& c) {
        if (Shape == task_shape::awaits) {
          require(!(c.flag_set_at < c.started_at) || c.saw_flag,
                  "a task started after the flag was set sees it at its first await");
          require(!c.saw_not_started || c.saw_flag, "a cancel that found the task not started is seen by it");
        }
        cancelled_and_freed(c);
      },
      std::move(opts));
}

WEFT_MODEL_CASE(vs_first_await, "replica/spawn_cancel/cancel_vs_start_and_first_await") {
  return cancel_model<variant::fixed, task_shape::awaits>(name, {});
}
WEFT_MODEL_CASE(vs_end, "replica/spawn_cancel/cancel_vs_start_and_end") {
  return cancel_model<variant::fixed, task_shape::ends_at_once>(name, {});
}
WEFT_MODEL_CASE(no_reference, "replica/spawn_cancel/posted_cancel_without_reference_is_found") {
  auto run = [&](options opts) {
    return cancel_model<variant::posted_cancel_without_reference, task_shape::ends_at_once>(name, std::move(opts));
  };
  return expect_failure(run({}), "touched after it was freed", run);
}
WEFT_MODEL_CASE(flag_early, "replica/spawn_cancel/flag_read_before_started_is_found") {
  auto run = [&](options opts) {
    return cancel_model<variant::flag_read_before_started, task_shape::awaits>(name, std::move(opts));
  };
  return expect_failure(run({}), "deadlock", run);
}

}  // namespace
}  // namespace weft::model
