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
// The replica (spawn_replica.hpp): the task's body is a write of its outcome (an exception) to the
// frame; its loop and the handle's owner (who may join first) are threads. Left out: a joiner cancelled
// while it waits, the block_on waiter (`sync_external`), group children, and the one-loop (non-shared)
// paths.
//
// The defect the checker must find (`buggy`, the code before commit f4bbbd2): spawn_done dropped the
// task's reference itself, in final_suspend; a handle dropped on another thread at that moment then
// freed the state and its frame while final_suspend still used it.
#include "spawn_replica.hpp"
#include "weft/detail/model.hpp"

namespace weft::model {
namespace {

using replica::spawn_state;
using replica::variant;

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
        thread task([&s] { replica::finish<V>(s, true); });
        if (Join) {
          replica::join_then_release(s);
        } else {
          replica::release_handle(s);
        }
        task.join();
      },
      freed_once, std::move(opts));
}

WEFT_MODEL_CASE(detach_fixed, "replica/spawn_state/finish_vs_detach") {
  return handshake<variant::fixed, false>(name, {});
}
WEFT_MODEL_CASE(join_fixed, "replica/spawn_state/finish_vs_join_then_drop") {
  return handshake<variant::fixed, true>(name, {});
}
// The same with the plain accesses (final_suspend's end among them) interleaved as well.
WEFT_MODEL_CASE(join_fixed_cell_steps, "replica/spawn_state/finish_vs_join_then_drop_cell_steps") {
  options opts;
  opts.cell_steps = true;
  return handshake<variant::fixed, true>(name, opts);
}

// The defect, found by the race detector: the free is not ordered after final_suspend's last touch.
WEFT_MODEL_CASE(detach_buggy_race, "replica/spawn_state/unref_in_final_suspend_races") {
  auto run = [&](options opts) { return handshake<variant::buggy, false>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}
// The same with the race detector off and the plain accesses interleaved too: final_suspend touches
// a freed frame.
WEFT_MODEL_CASE(detach_buggy_uaf, "replica/spawn_state/unref_in_final_suspend_use_after_free") {
  auto run = [&](options opts) {
    opts.detect_races = false;
    opts.cell_steps = true;
    return handshake<variant::buggy, false>(name, std::move(opts));
  };
  return expect_failure(run({}), "touched after it was freed", run);
}
WEFT_MODEL_CASE(join_buggy, "replica/spawn_state/unref_in_final_suspend_vs_joiner_races") {
  auto run = [&](options opts) { return handshake<variant::buggy, true>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

}  // namespace
}  // namespace weft::model
