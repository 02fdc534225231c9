// A replica of how a worker goes to sleep and how work wakes it: worker::run_forever, find_work,
// post() and poll() (src/runtime/worker.cpp) and scheduler::take_injected, notify_one, work_available,
// enter_idle/leave_idle (src/runtime/scheduler.cpp, scheduler.hpp).
//
// The protocol: a worker with nothing to do sets `sleeping_` (seq_cst), counts itself in `idle_`, then
// looks once more (the last look: `has_posted_`, `stopping`, work_available()), and blocks in its
// reactor unless that look found something; it then leaves `idle_`. Whoever adds work publishes it
// first: post() sets `has_posted_` (seq_cst) and reads `sleeping_`; inject() adds to `injected_count_`,
// issues a seq_cst fence and reads `idle_` (notify_one), and wakes a sleeping worker that is not already
// notified. Either the sleeper's last look sees the work or the adder sees the sleeper.
//
// Properties:
// - No lost wake-up: every item posted or injected runs. The item that completes the count stops the
//   runtime (as block_on's root task would), so a worker asleep while work waits is a deadlock.
// - `idle_` never exceeds the number of workers, and is 0 once every worker has stopped; `searching_`
//   stays within 0 and the number of workers.
// - Every queue is empty at the end and the items ran exactly `items` times in all.
//
// The replica: the reactor is an eventfd (a counter: wake adds one, a blocking poll waits for it to be
// non-zero and drains it, one that does not block lets the other threads run); a poll that waits has no
// timeout (no timers here: a timeout would only hide a lost wake-up for a while). A worker's not-yet-
// started tasks (its steal_queue, checked on its own in steal_queue.cpp) are a count that the owner pops
// one at a time and a thief takes half of with a compare-and-swap. The injection queue holds chunks of
// `chunk` tasks under a mutex (its spin lock and count are checked in inject_queue.cpp). The one-worker
// models stand for one worker of a runtime with several (a real one-worker runtime has no scheduler
// and no idle count). Left out: the run queue of started tasks, timers, frame-cache trimming,
// spin_for_work() and the lone-task grace period of find_work() (both only delay sleeping: a worker that
// spins still ends in poll()), paused time, the runtime's own shutdown (here the last item stops it).
//
// Defects the checker must find:
// - idle_leak: the code before commit 57819e6, which undid the idle count only when it blocked
//   (`if (timeout_ms != 0)` after the last look could set the timeout to 0): idle_ only grows.
// - sleeping_after_last_look: the sleeping_ store visible only after the last look's loads, which C++
//   allows for a relaxed store (in practice x86 and ARM would keep it in order here, because enter_idle's
//   seq_cst read-modify-write sits between; C++ does not promise that). The engine executes every atomic
//   sequentially consistently by default, so a relaxed `sleeping_` store *as written* is found only under
//   weak memory (relaxed_sleeping, options::weak_memory): this variant writes the reordering out.
// - idle_read_before_publishing: notify_one reading `idle_` before the injected work is visible, which
//   C++ allows without the fence (a relaxed load of `idle_` after a read-modify-write of another
//   object); the same remark applies.
#include <array>
#include <mutex>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

enum class variant { fixed, idle_leak, sleeping_after_last_look, idle_read_before_publishing, relaxed_sleeping };

/// The reactor's wake-up eventfd.
struct reactor {
  atomic<int> pending{0};

  void wake() {
    pending.fetch_add(1, release);
    pending.notify_one();
  }
  void poll(bool block) {
    if (block) {
      pending.wait(0, acquire);
      pending.exchange(0, acq_rel);
      return;
    }
    // A poll that does not wait is still a system call: the other threads run meanwhile. (Without this
    // the search would let a worker that polls in a loop, waiting for another to finish moving an
    // injected task, run forever alone, and report a livelock no real scheduler allows.) It leaves the
    // counter alone: a wake-up left over only ends a later wait at once, which the real drain would
    // have spared, so the model allows more spurious wake-ups than the reactor, never fewer.
    weft::detail::thread_yield();
  }
};

template <int Workers>
struct runtime;

struct worker {
  weft::detail::mutex post_mu;
  cell<int> posted;  // closures queued by post(): guarded by post_mu
  atomic<bool> has_posted{false};
  atomic<bool> sleeping{false};
  atomic<bool> notified{false};
  atomic<int> fresh{0};  // not-yet-started tasks
  reactor r;
};

template <int Workers>
struct runtime {
  std::array<worker, Workers> workers;
  weft::detail::mutex inject_lock;
  cell<int> injected;  // chunks of `chunk` tasks: guarded by inject_lock
  atomic<int> injected_count{0};
  atomic<int> idle{0};
  atomic<int> searching{0};
  atomic<bool> stopping{false};
  atomic<int> ran{0};  // items run, by every worker
  int items = 0;       // how many the model adds; the one that completes the count stops the runtime
  int chunk = 1;       // tasks per injected chunk

  void run_item() {
    if (ran.fetch_add(1, acq_rel) + 1 != items) return;
    stopping.store(true, seq_cst);
    for (worker& w : workers) w.r.wake();
  }

  // Any thread: post() / remote_schedule().
  template <variant V>
  void post(worker& w) {
    {
      std::lock_guard lock(w.post_mu);
      w.posted.with_mut([](int& n) { ++n; });
    }
    w.has_posted.store(true, seq_cst);
    if (w.sleeping.load(seq_cst)) w.r.wake();
  }

  // Any thread: inject_batch() of `chunk` tasks, then notify_one().
  template <variant V>
  void inject() {
    bool wake = true;
    if constexpr (V == variant::idle_read_before_publishing) wake = idle.load(relaxed) != 0;
    {
      std::lock_guard lock(inject_lock);
      injected.with_mut([](int& n) { ++n; });
      injected_count.fetch_add(chunk, seq_cst);
    }
    if (wake) notify_one<V>();
  }

  template <variant V>
  void notify_one() {
    if constexpr (V != variant::idle_read_before_publishing) {
      weft::detail::atomic_thread_fence(seq_cst);
      if (idle.load(relaxed) == 0) return;
    }
    if (searching.load(relaxed) != 0) return;
    int none = 0;
    if (!searching.compare_exchange_strong(none, 1, seq_cst)) return;
    for (worker& w : workers) {
      if (w.sleeping.load(seq_cst) && !w.notified.exchange(true, seq_cst)) {
        w.r.wake();
        return;
      }
    }
    searching.fetch_sub(1, seq_cst);
  }

  bool work_available(const worker& self) const {
    if (injected_count.load(seq_cst) != 0) return true;
    for (const worker& w : workers) {
      if (&w != &self && w.fresh.load(relaxed) != 0) return true;
    }
    return false;
  }

  bool take_injected(worker& self) {
    if (injected_count.load(relaxed) == 0) return false;
    {
      std::lock_guard lock(inject_lock);
      if (injected.get() == 0) return false;
      injected.with_mut([](int& n) { --n; });
    }
    self.fresh.fetch_add(chunk, release);
    injected_count.fetch_sub(chunk, seq_cst);
    return true;
  }

  static bool steal_half(worker& victim, worker& thief) {
    int n = 1;  // a guess, as in run_ready: the usual steal (of one, or of none) is a single step
    if (victim.fresh.compare_exchange_strong(n, 0, acq_rel, acquire)) {
      thief.fresh.fetch_add(1, release);
      return true;
    }
    while (n > 0) {
      int take = (n + 1) / 2;
      if (victim.fresh.compare_exchange_weak(n, n - take, acq_rel, acquire)) {
        thief.fresh.fetch_add(take, release);
        return true;
      }
    }
    return false;
  }

  template <variant V>
  bool find_work(worker& self, bool counted) {
    bool found = take_injected(self);
    if (!found && Workers > 1) {
      if (!counted) searching.fetch_add(1, seq_cst);
      counted = true;
      for (worker& victim : workers) {
        if (&victim != &self && steal_half(victim, self)) {
          found = true;
          break;
        }
      }
    }
    if (counted) {
      int before = searching.fetch_sub(1, seq_cst);
      require(before >= 1 && before <= Workers, "the searching count stays within 0 and the number of workers");
      bool last = before == 1;
      if (found && last) notify_one<V>();
    }
    return found;
  }

  // The owner's pops of its fresh tasks, until none is left.
  int run_ready(worker& self) {
    int ran_here = 0;
    for (;;) {
      int n = 1;  // a guess, so that the usual pop (of one, or of none) is a single step
      while (!self.fresh.compare_exchange_weak(n, n - 1, acq_rel, acquire) && n != 0) {
      }
      if (n == 0) return ran_here;
      run_item();
      ++ran_here;
    }
  }

  void run_posted(worker& self) {
    int n = 0;
    {
      std::lock_guard lock(self.post_mu);
      n = self.posted.get();
      self.posted.set(0);
      self.has_posted.store(false, relaxed);
    }
    for (int i = 0; i < n; ++i) run_item();
  }

  template <variant V>
  void poll(worker& self, bool idle_now) {
    bool block = idle_now;  // timeout -1: nothing else (no timers) will end the wait
    bool went_idle = block;
    auto last_look = [&] {
      if (self.has_posted.load(seq_cst) || stopping.load(acquire) || work_available(self)) block = false;
    };
    if (went_idle) {
      if constexpr (V == variant::sleeping_after_last_look) last_look();
      self.sleeping.store(true, V == variant::relaxed_sleeping ? relaxed : seq_cst);
      int before = idle.fetch_add(1, seq_cst);
      require(before < Workers, "the idle count never exceeds the number of workers");
      if constexpr (V != variant::sleeping_after_last_look) last_look();
    }
    self.r.poll(block);
    if (V == variant::idle_leak ? block : went_idle) {
      idle.fetch_sub(1, seq_cst);
      self.sleeping.store(false, relaxed);
    }
  }

  template <variant V>
  void run_forever(worker& self) {
    while (!stopping.load(acquire)) {
      int ran_now = run_ready(self);
      if (self.has_posted.load(relaxed)) {
        run_posted(self);
        ran_now = 1;
      }
      bool counted = self.notified.load(relaxed) && self.notified.exchange(false, seq_cst);
      bool idle_now = ran_now == 0 && self.fresh.load(relaxed) == 0;
      if ((counted || idle_now) && find_work<V>(self, counted)) continue;
      poll<V>(self, idle_now);
    }
  }
};

template <int Workers>
void all_ran_and_idle_is_zero(runtime<Workers>& rt) {
  require(rt.ran.load() == rt.items, "every item posted or injected ran exactly once");
  require(rt.idle.load() == 0, "the idle count is 0 once every worker has stopped");
  require(rt.injected.get() == 0 && rt.injected_count.load() == 0, "the injection queue is empty at the end");
  for (worker& w : rt.workers) {
    require(w.posted.get() == 0 && w.fresh.load() == 0, "every worker's queues are empty at the end");
  }
}

template <variant V, int Workers, int... I>
std::array<thread, Workers> start_workers(runtime<Workers>& r, std::integer_sequence<int, I...>) {
  return {thread([&r] { r.template run_forever<V>(r.workers[I]); })...};
}

// One worker; thread 0 posts two closures to it (post() and remote_schedule() are the same protocol).
template <variant V>
report post_model(std::string_view name, options opts) {
  using rt1 = runtime<1>;
  return check<rt1>(
      name,
      [](rt1& rt) {
        rt.items = 2;
        thread w0([&rt] { rt.run_forever<V>(rt.workers[0]); });
        rt.post<V>(rt.workers[0]);
        rt.post<V>(rt.workers[0]);
        w0.join();
      },
      all_ran_and_idle_is_zero<1>, std::move(opts));
}

// `Workers` workers; thread 0 injects `Chunks` chunks of `Chunk` tasks, each followed by notify_one.
template <variant V, int Workers, int Chunks, int Chunk>
report inject_model(std::string_view name, options opts) {
  using rt = runtime<Workers>;
  return check<rt>(
      name,
      [](rt& r) {
        r.items = Chunks * Chunk;
        r.chunk = Chunk;
        std::array<thread, Workers> workers = start_workers<V>(r, std::make_integer_sequence<int, Workers>{});
        for (int i = 0; i < Chunks; ++i) r.template inject<V>();
        for (thread& t : workers) t.join();
      },
      all_ran_and_idle_is_zero<Workers>, std::move(opts));
}

WEFT_MODEL_CASE(post_fixed, "replica/worker_sleep/post_wakes_sleeper") { return post_model<variant::fixed>(name, {}); }

WEFT_MODEL_CASE(inject_fixed, "replica/worker_sleep/inject_two_wakes_two") {
  return inject_model<variant::fixed, 2, 2, 1>(name, {});
}

WEFT_MODEL_CASE(inject_batch_fixed, "replica/worker_sleep/inject_batch_then_steal") {
  return inject_model<variant::fixed, 2, 1, 2>(name, {});
}

WEFT_MODEL_CASE(idle_leak, "replica/worker_sleep/idle_leak_is_found") {
  auto run = [&](options opts) { return post_model<variant::idle_leak>(name, std::move(opts)); };
  return expect_failure(run({}), "idle count", run);
}

WEFT_MODEL_CASE(sleeping_late, "replica/worker_sleep/sleeping_after_last_look_is_found") {
  auto run = [&](options opts) { return post_model<variant::sleeping_after_last_look>(name, std::move(opts)); };
  return expect_failure(run({}), "deadlock", run);
}

WEFT_MODEL_CASE(idle_early, "replica/worker_sleep/idle_read_before_publishing_is_found") {
  auto run = [&](options opts) {
    return inject_model<variant::idle_read_before_publishing, 1, 1, 1>(name, std::move(opts));
  };
  return expect_failure(run({}), "deadlock", run);
}

// The relaxed store as written, under weak memory (options::weak_memory): the poster's seq_cst load of
// `sleeping_` may read the store before the sleeper's relaxed one (nothing orders the two, neither a
// seq_cst store nor a fence), while the sleeper's last look reads `has_posted_` before the post's store:
// both miss, and the worker sleeps with a post queued. (The real worker stores `sleeping_` seq_cst and
// follows it with a seq_cst fence: runtime/post_from_outside runs it under weak memory too.)
WEFT_MODEL_CASE(relaxed_sleeping, "replica/worker_sleep/relaxed_sleeping_is_found_under_weak_memory") {
  auto run = [&](options opts) {
    opts.weak_memory = true;
    return post_model<variant::relaxed_sleeping>(name, std::move(opts));
  };
  return expect_failure(run({}), "deadlock", run);
}

WEFT_MODEL_CASE(post_weak, "replica/worker_sleep/post_wakes_sleeper_under_weak_memory") {
  options opts;
  opts.weak_memory = true;
  return post_model<variant::fixed>(name, opts);
}

}  // namespace
}  // namespace weft::model
