// A replica of the handshake of a finishing spawned task with its join_handle, on a runtime with several
// workers (a `shared` state): spawn_done, spawn_join_suspend, spawn_release_handle (src/runtime/spawn.cpp),
// worker::bury/free_buried (src/runtime/worker.cpp), and the join awaiter (weft/spawn.hpp).
//
// The protocol (weft/detail/spawn_state.hpp): `word` holds the handshake bits (done, joiner,
// handle_gone) and the reference count in units of ref_one; it starts with two references, the task's
// and the handle's. Finishing sets `done`; a joiner sets `joiner` after filling in the joiner fields;
// dropping the handle sets `handle_gone` and drops the handle's reference in the same instruction unless
// `done` is set already. Whoever sets its bit second does what needs both: the finisher wakes a parked
// joiner, whoever comes second after a dropped handle reports an exception nobody saw. The task's own
// reference is dropped by its loop after the resume that finished it (bury, then free_buried), because
// until that resume returns the frame is still in use: spawn_done runs inside the frame's final_suspend.
// The state and the root frame are freed together, by whoever drops the last reference.
//
// Properties:
// - The state is freed exactly once, and never touched after: not by the finishing thread, whose last
//   touch is the end of final_suspend (a write to the frame after spawn_done), not by the joiner or the
//   handle (every access is checked against the free by a require() and, through a cell, by the race
//   detector).
// - A joiner that parked is woken exactly once, and a joiner sees the task's outcome (it happens-before
//   its read).
// - The task's exception is reported at most once, and only when nobody joined the task.
//
// The replica: the task's body is a write of its outcome (an exception) to the frame; its loop, the
// joiner's loop and the handle's owner are threads. Left out: a joiner cancelled while it waits, the
// block_on waiter (`sync_external`), group children, and the one-loop (non-shared) paths.
//
// The defect the checker must find (`buggy`, the code before commit f4bbbd2): spawn_done dropped the
// task's reference itself, in final_suspend; a handle dropped on another thread at that moment then
// freed the state and its frame while final_suspend still used it.
#include <cstdint>

#include "replica.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"

namespace weft::model {
namespace {

using weft::detail::atomic;
using weft::detail::cell;

constexpr auto relaxed = std::memory_order_relaxed;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;
constexpr auto acq_rel = std::memory_order_acq_rel;

// weft/detail/spawn_state.hpp's layout of `word`.
constexpr std::uint32_t sync_done = 1;
constexpr std::uint32_t sync_joiner = 2;
constexpr std::uint32_t sync_handle_gone = 4;
constexpr std::uint32_t ref_one = 16;
constexpr std::uint32_t refs_of(std::uint32_t word) { return word / ref_one; }

enum class status : int { running, done };
enum class variant { fixed, buggy };

struct spawn_state {
  replica::lifetime memory;                // the state and the root frame, freed together
  atomic<std::uint32_t> word{2 * ref_one};  // the task's reference and the handle's
  atomic<status> task_status{status::running};
  cell<int> exception;                     // the outcome, in the frame's promise
  cell<bool> outcome_seen{false};
  cell<int> joiner;                        // s->joiner, joiner_ctx, joiner_home: set by the joiner
  atomic<int> joiner_wakeups{0};           // remote_schedule of the joiner to its loop
  int reports = 0;                         // exceptions reported (plain: a count for the final check)
  bool joined = false;                     // the joiner took the outcome
  bool buried = false;                     // the task's loop holds the state in its graveyard

  std::uint32_t fetch_or(std::uint32_t bit) {
    return memory.atomic_access([&] { return word.fetch_or(bit, acq_rel); });
  }
  // spawn_word_mark: sets `bit`, and drops the caller's reference unless one of `keep_if` is set.
  std::uint32_t mark(std::uint32_t bit, std::uint32_t keep_if) {
    std::uint32_t old = memory.atomic_access([&] { return word.load(relaxed); });
    for (;;) {
      std::uint32_t next = old | bit;
      if ((old & keep_if) == 0) next -= ref_one;
      if (memory.atomic_access([&] { return word.compare_exchange_weak(old, next, acq_rel, relaxed); })) return old;
    }
  }
  bool unref() {  // spawn_unref: true if it was the last
    return refs_of(memory.atomic_access([&] { return word.fetch_add(0u - ref_one, acq_rel); })) == 1;
  }
  void report_unseen() {
    memory.touch();
    if (!outcome_seen.get() && exception.get() != 0) {
      outcome_seen.set(true);
      ++reports;
    }
  }
};

// The task's loop: the last resume of the task (its body, spawn_done inside final_suspend, the end of
// final_suspend), then free_buried.
template <variant V>
void finish(spawn_state& s) {
  s.exception.set(1);  // the task ended with an exception (the body's last write to its frame)
  s.memory.atomic_access([&] { s.task_status.store(status::done, release); });
  auto wake_joiner = [&s] {
    s.joiner.with_mut([](int& j) { j = 0; });  // std::exchange(s->joiner, {})
    s.joiner_wakeups.fetch_add(1, acq_rel);
    s.joiner_wakeups.notify_one();
  };
  if constexpr (V == variant::fixed) {
    std::uint32_t word = s.memory.atomic_access([&] { return s.word.load(acquire); });
    if (refs_of(word) == 1) {
      if ((word & sync_handle_gone) != 0) s.report_unseen();
      s.buried = true;
    } else {
      std::uint32_t before = s.fetch_or(sync_done);
      if ((before & sync_joiner) != 0) wake_joiner();
      if ((before & sync_handle_gone) != 0) s.report_unseen();
      s.buried = true;
    }
  } else {
    constexpr std::uint32_t more = sync_joiner | sync_handle_gone;
    std::uint32_t before = s.mark(sync_done, more);
    if ((before & more) == 0) {
      if (refs_of(before) == 1) s.buried = true;
    } else {
      if ((before & sync_joiner) != 0) wake_joiner();
      if ((before & sync_handle_gone) != 0) s.report_unseen();
      if (s.unref()) s.buried = true;
    }
  }
  s.memory.touch();  // final_suspend completes: the frame is still in use until the resume returns
  // free_buried, after the resume.
  if (!s.buried) return;
  if constexpr (V == variant::fixed) {
    // ordering: a count of one is ours alone (no other holder is left to add one): no atomic write.
    std::uint32_t word = s.memory.atomic_access([&] { return s.word.load(acquire); });
    if (refs_of(word) == 1 || s.unref()) s.memory.free();
  } else {
    s.memory.free();
  }
}

// join_handle's destructor: spawn_release_handle.
void release_handle(spawn_state& s) {
  std::uint32_t before = s.mark(sync_handle_gone, sync_done);
  if ((before & sync_done) == 0) {
    if (refs_of(before) == 1) s.memory.free();
    return;
  }
  s.report_unseen();
  if (s.unref()) s.memory.free();
}

// `co_await std::move(handle)` on the joiner's loop, then the handle is dropped.
void join_then_release(spawn_state& s) {
  bool ready = s.memory.atomic_access([&] { return s.task_status.load(acquire); }) != status::running;
  if (!ready) {
    // spawn_join_suspend
    s.joiner.set(1);
    std::uint32_t before = s.fetch_or(sync_joiner);
    if ((before & sync_done) != 0) {
      s.joiner.set(0);  // finished meanwhile: go on without suspending
    } else {
      s.joiner_wakeups.wait(0, acquire);  // parked until spawn_done's remote_schedule runs
    }
  }
  // await_resume
  status st = s.memory.atomic_access([&] { return s.task_status.load(acquire); });
  require(st == status::done, "a joiner resumes only once the task is done");
  s.outcome_seen.set(true);
  require(s.exception.get() == 1, "the joiner sees the task's outcome");
  s.joined = true;
  release_handle(s);
}

void freed_once(spawn_state& s) {
  require(s.memory.frees() == 1, "the state is freed exactly once");
  require(s.joiner_wakeups.load() <= 1, "a parked joiner is woken exactly once (not twice)");
  require(s.reports == (s.joined ? 0 : 1), "an exception nobody saw is reported once; a joined one never");
}

// Thread 0 owns the handle; thread 1 is the task's loop.
template <variant V, bool Join>
report handshake(std::string_view name, options opts) {
  return check<spawn_state>(
      name,
      [](spawn_state& s) {
        thread task([&s] { finish<V>(s); });
        if (Join) {
          join_then_release(s);
        } else {
          release_handle(s);
        }
        task.join();
      },
      freed_once, std::move(opts));
}

WEFT_MODEL_CASE(detach_fixed, "spawn_state/finish_vs_detach") {
  return handshake<variant::fixed, false>(name, {});
}
WEFT_MODEL_CASE(join_fixed, "spawn_state/finish_vs_join_then_drop") {
  return handshake<variant::fixed, true>(name, {});
}

// The defect, found by the race detector: the free is not ordered after final_suspend's last touch.
WEFT_MODEL_CASE(detach_buggy_race, "spawn_state/unref_in_final_suspend_races") {
  auto run = [&](options opts) { return handshake<variant::buggy, false>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}
// The same with the race detector off and the plain accesses interleaved too: final_suspend touches
// a freed frame.
WEFT_MODEL_CASE(detach_buggy_uaf, "spawn_state/unref_in_final_suspend_use_after_free") {
  auto run = [&](options opts) {
    opts.detect_races = false;
    opts.cell_steps = true;
    return handshake<variant::buggy, false>(name, std::move(opts));
  };
  return expect_failure(run({}), "touched after it was freed", run);
}
WEFT_MODEL_CASE(join_buggy, "spawn_state/unref_in_final_suspend_vs_joiner_races") {
  auto run = [&](options opts) { return handshake<variant::buggy, true>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

}  // namespace
}  // namespace weft::model
