// weft::semaphore and weft::mutex themselves (weft/sync/semaphore.hpp, src/sync/event.cpp) over weft's
// waiter protocol (src/sync/sync_waiter.cpp, context::cancel in src/runtime/context.cpp): the real code,
// compiled with the model build's loops (loop.hpp) in place of the runtime's. A task's loop cancels the
// task's context right after the task first suspends (as a timeout on that loop would), then runs until
// the task ends; the permits come from a plain thread outside the runtime.
//
// Properties:
// - Every task is resumed exactly once (never: a deadlock; twice: a finished task resumed).
// - Permits are conserved: a task whose acquire succeeded holds a permit and returns it; one cancelled
//   holds none. Once everyone released, the count is back where it started and nobody waits: a cancel
//   never takes back a permit already granted, nor is a permit granted twice.
// - mutex: its holders are mutually exclusive and ordered: each writes a cell in its critical section,
//   so a lock handed over without happens-before (or to two holders) is a data race.
// - abandon at shutdown (the loops stopped, their queued wake-ups dropped, then the suspended frames
//   destroyed, as ~worker does): the semaphore is left with no destroyed waiter on its list, and no
//   wake-up reaches a stopped loop afterwards.
//
// Why release(2) to two waiters: a cancel that takes back a settled waiter (defect 1 of
// docs/design/cancellation.md: `list` left set while the waiter is on the settler's wake_list) has
// only the instructions between the settler's unlock and its pop from the wake list to act in, and the
// checker schedules only at atomics and locks. With two waiters settled in one call, the first
// wake-up's hand-off is a scheduling point before the second waiter leaves the wake list.
#include <optional>

#include "loop.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "weft/sync/semaphore.hpp"

namespace weft::model {
namespace {

// Takes a permit and, with one, gives it back.
model_task acquire_and_release(semaphore& sem, std::optional<result<void>>& got) {
  result<void> r = co_await sem.acquire();
  if (r) sem.release();
  got = r;
}

bool ok_or_cancelled(const std::optional<result<void>>& got) {
  return got.has_value() && (*got || got->error() == make_error_code(errc::operation_canceled));
}

// A task on a loop of its own: started, cancelled (if `cancel`), run to its end.
struct acquirer {
  weft::detail::worker loop;
  model_task task;
  std::optional<result<void>> got;

  void run(semaphore& sem, bool cancel) {
    loop.bind();
    task = acquire_and_release(sem, got);
    task.start();
    if (cancel) task.ctx().cancel();
    loop.run_until([this] { return task.done(); });
  }
};

struct one_waiter {
  semaphore sem{1};
  acquirer a;
  one_waiter() { (void)sem.try_acquire(); }  // the releasing thread holds the one permit
};

WEFT_MODEL_CASE(release_vs_cancelled_acquire, "real_semaphore/release_vs_cancelled_acquire") {
  return check<one_waiter>(
      name,
      [](one_waiter& s) {
        thread releaser([&s] { s.sem.release(); });
        s.a.run(s.sem, true);
        releaser.join();
      },
      [](one_waiter& s) {
        require(s.a.task.done() && ok_or_cancelled(s.a.got), "the task ran to its end: acquired, or cancelled");
        require(s.a.loop.idle(), "no wake-up is left over (a waiter is woken exactly once)");
        require(s.sem.available() == 1 && s.sem.try_acquire(), "the permit is back and nobody waits");
      },
      every_schedule());
}

struct two_waiters {
  semaphore sem{0};
  acquirer a, c;
};

// Two tasks on two loops wait for permits, one is cancelled; a plain thread releases two at once.
WEFT_MODEL_CASE(release_two_vs_two_acquirers, "real_semaphore/release_two_vs_cancelled_and_plain_acquire") {
  return check<two_waiters>(
      name,
      [](two_waiters& s) {
        thread other([&s] { s.c.run(s.sem, false); });
        thread releaser([&s] { s.sem.release(2); });
        s.a.run(s.sem, true);
        other.join();
        releaser.join();
      },
      [](two_waiters& s) {
        require(s.a.task.done() && ok_or_cancelled(s.a.got), "the cancelled task ran to its end");
        require(s.c.task.done() && s.c.got.has_value() && *s.c.got, "the other task acquired");
        require(s.a.loop.idle() && s.c.loop.idle(), "no wake-up is left over (a waiter is woken exactly once)");
        require(s.sem.available() == 2, "both permits are back (none taken back by a cancel, none lost)");
        require(s.sem.try_acquire(), "nobody waits");
      });
}

// Abandon at shutdown: two tasks wait on two loops, a plain thread releases one permit; then the
// threads have stopped, the loops drop their queued wake-ups, and the frames still suspended are
// destroyed (their awaiters' abandon). The frame's task never saw its permit (lost, as at any
// shutdown); what must hold is that the semaphore is left with no destroyed waiter on its list.
struct shutdown_state {
  semaphore sem{0};
  acquirer a, c;
};

void start_only(acquirer& x, semaphore& sem) {
  x.loop.bind();
  x.task = acquire_and_release(sem, x.got);
  x.task.start();
}

WEFT_MODEL_CASE(abandon_at_shutdown, "real_semaphore/abandon_at_shutdown") {
  return check<shutdown_state>(
      name,
      [](shutdown_state& s) {
        thread a([&s] { start_only(s.a, s.sem); });
        thread c([&s] { start_only(s.c, s.sem); });
        s.sem.release();
        a.join();
        c.join();
        // Shutdown (~worker): the loops are gone, then the frames still suspended are destroyed.
        s.a.loop.stop();
        s.c.loop.stop();
        s.a.task.destroy();
        s.c.task.destroy();
        // With no waiter left, a released permit stays available.
        s.sem.release();
        require(s.sem.try_acquire(), "no destroyed waiter is left on the semaphore's list");
      },
      [](shutdown_state&) {});
}

// mutex: a plain thread holds the lock and writes the shared cell, then unlocks while a task on a loop
// waits to lock it and is cancelled.
struct mutex_state {
  weft::mutex m;
  std::optional<weft::mutex::guard> held = m.try_lock();
  weft::detail::cell<int> shared;
  weft::detail::worker loop;
  model_task task;
  std::optional<bool> locked;
};

model_task lock_and_write(weft::mutex& m, weft::detail::cell<int>& shared, std::optional<bool>& locked) {
  result<weft::mutex::guard> g = co_await m.lock();
  if (g) shared.with_mut([](int& v) { v += 10; });
  locked = g.has_value();
}

WEFT_MODEL_CASE(unlock_vs_cancelled_lock, "real_mutex/unlock_vs_cancelled_lock") {
  return check<mutex_state>(
      name,
      [](mutex_state& s) {
        thread holder([&s] {
          s.shared.set(1);
          s.held.reset();  // unlocks
        });
        s.loop.bind();
        s.task = lock_and_write(s.m, s.shared, s.locked);
        s.task.start();
        s.task.ctx().cancel();
        s.loop.run_until([&s] { return s.task.done(); });
        holder.join();
      },
      [](mutex_state& s) {
        require(s.task.done() && s.locked.has_value(), "the task ran to its end");
        require(s.loop.idle(), "no wake-up is left over (a waiter is woken exactly once)");
        require(s.shared.get() == (*s.locked ? 11 : 1), "the task wrote only while it held the lock");
        require(s.m.try_lock().has_value(), "the mutex is free at the end");
      },
      every_schedule());
}

}  // namespace
}  // namespace weft::model
