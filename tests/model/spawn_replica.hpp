// A replica of a spawned task's control block on a runtime with several workers (a `shared`
// spawn_state) and of the code that hands it between threads: spawn_done, spawn_release_handle,
// spawn_join_suspend (src/runtime/spawn.cpp), worker::bury and free_buried (src/runtime/worker.cpp), the
// join awaiter (weft/spawn.hpp). Used by spawn_state.cpp and spawn_cancel.cpp; see spawn_state.cpp for
// the protocol.
//
// The state and the task's root frame are one `lifetime`: every access of either, by any thread, is
// checked against its free. Cells stand for the plain fields (the outcome in the frame's promise,
// outcome_seen, the joiner fields, the armed await of the task's context).
#pragma once

#include <cstdint>

#include "replica.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model::replica {

// weft/detail/spawn_state.hpp's layout of `word`.
constexpr std::uint32_t sync_done = 1;
constexpr std::uint32_t sync_joiner = 2;
constexpr std::uint32_t sync_handle_gone = 4;
constexpr std::uint32_t ref_one = 16;
constexpr std::uint32_t refs_of(std::uint32_t word) { return word / ref_one; }

enum class status : int { running, done };
/// buggy: spawn_done as before commit f4bbbd2, which dropped the task's reference itself, inside
/// final_suspend (and free_buried then freed what was buried without looking at the count).
enum class variant { fixed, buggy };

struct spawn_state {
  replica::lifetime memory;                // the state and the root frame, freed together
  atomic<std::uint32_t> word{2 * ref_one};  // the task's reference and the handle's
  atomic<status> task_status{status::running};
  atomic<bool> started{false};
  atomic<bool> cancelled{false};           // the root context's flag (context::cancelled_)
  cell<bool> armed{false};                 // the context's waiter_: the task's await, on its loop
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

// The task's loop: the last resume of the task (its body, which ends with or without an exception,
// spawn_done inside final_suspend, the end of final_suspend), then free_buried.
template <variant V>
void finish(spawn_state& s, bool with_exception) {
  s.exception.set(with_exception ? 1 : 0);  // the body's last write to its frame
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
inline void release_handle(spawn_state& s) {
  std::uint32_t before = s.mark(sync_handle_gone, sync_done);
  if ((before & sync_done) == 0) {
    if (refs_of(before) == 1) s.memory.free();
    return;
  }
  s.report_unseen();
  if (s.unref()) s.memory.free();
}

// `co_await std::move(handle)` on the joiner's loop, then the handle is dropped.
inline void join_then_release(spawn_state& s) {
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
  require(s.exception.get() == 1, "the joiner sees the task's outcome (the models end it with an exception)");
  s.joined = true;
  release_handle(s);
}

}  // namespace weft::model::replica
