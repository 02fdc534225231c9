// Cancellation across workers, on whole runtimes built from the real sources (see runtime_wakeups.cpp).
//
// - timeout_keeps_a_received_value: the root task (worker 0) puts a 2 ms timeout on joining a task on
//   worker 1 that receives from a oneshot, while a plain thread sends. The model's clock moves a
//   millisecond per reading, so the deadline falls before, while and after the value arrives. A value
//   the receiver got must come out of the timeout (docs/design/cancellation.md): reporting timed_out
//   then would drop it, which is what timeout did with a join posted to another worker.
// - cancel_reaches_a_task_starting_elsewhere: the root spawns a task on worker 1 and cancels it at
//   once, as it may be starting there. The task waits on a oneshot that is never sent: a cancel lost
//   between its start and its first await leaves it waiting for ever, a deadlock.
// - cancel_reaches_a_stolen_task: the same with a plain spawn, into worker 0's queue, where worker 1
//   may steal it and start it (worker::start_fresh) as the cancel lands: the store-buffering shape of
//   `started` against the cancel flag, which only weak memory shows (the first await reads the flag
//   relaxed). On this path the thief's notify_one (a seq_cst fence, after the steal) orders the two
//   as well: the start's own order (`started` stored, then the flag loaded) matters where no fence
//   follows, a worker taking an injected task without being counted as searching, a run that needs
//   three preemptions (replica/spawn_cancel/flag_read_before_started_is_found shows it).
#include <chrono>

#include "prelude.hpp"
#include "runtime_models.hpp"
#include "weft/detail/model.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/task.hpp"
#include "weft/timeout.hpp"

namespace weft::model {
namespace {

task<int> receive_noting(oneshot_receiver<int> rx, bool* got) {
  auto v = co_await std::move(rx);
  if (!v) co_return -1;
  *got = true;
  co_return *v;
}

task<int> timeout_on_a_join(runtime* rt, oneshot_receiver<int> rx, bool* got) {
  join_handle<int> h = rt->spawn_on(1, receive_noting(std::move(rx), got));
  result<int> r = co_await timeout(std::chrono::milliseconds(2), std::move(h));
  if (r) co_return *r;
  co_return r.error() == errc::timed_out ? 0 : -2;
}

WEFT_MODEL_CASE(timeout_keeps_a_received_value, "runtime/timeout_keeps_a_received_value") {
  return check_runtime(name, [] {
    runtime rt(two_workers());
    auto [tx, rx] = make_oneshot<int>();
    oneshot_sender<int>* sender = &tx;
    bool got = false;  // the receiver's: read once block_on returns, after its join
    thread sends([sender] { (void)sender->send(42); });
    int out = rt.block_on(timeout_on_a_join(&rt, std::move(rx), &got));
    sends.join();
    require(out == 42 || out == 0, "the timeout returns the value or timed_out");
    require(!got || out == 42, "a value the receiver got comes out of the timeout (not timed_out)");
  }, runtime_schedules());
}

task<int> wait_unsent(oneshot_receiver<int> rx) {
  auto v = co_await std::move(rx);
  if (v) co_return 1;
  co_return v.error() == errc::operation_canceled ? 2 : 3;
}

template <bool OnWorker1>
task<int> spawn_and_cancel(runtime* rt) {
  auto [tx, rx] = make_oneshot<int>();
  join_handle<int> h = OnWorker1 ? rt->spawn_on(1, wait_unsent(std::move(rx))) : spawn(wait_unsent(std::move(rx)));
  h.cancel();
  result<int> r = co_await std::move(h);
  co_return r ? *r : -1;
}

template <bool OnWorker1>
report cancel_model(std::string_view name) {
  return check_runtime(name, [] {
    runtime rt(two_workers());
    int out = rt.block_on(spawn_and_cancel<OnWorker1>(&rt));
    require(out == 2 || out == -1, "the task sees operation_canceled (or the join reports the cancel)");
  }, runtime_schedules());
}

WEFT_MODEL_CASE(cancel_reaches_a_task_starting_elsewhere, "runtime/cancel_reaches_a_task_starting_elsewhere") {
  return cancel_model<true>(name);
}

WEFT_MODEL_CASE(cancel_reaches_a_stolen_task, "runtime/cancel_reaches_a_stolen_task") {
  return cancel_model<false>(name);
}

}  // namespace
}  // namespace weft::model
