// Whole runtimes under the model checker: weft::runtime with two workers, built from the real sources
// (runtime/worker.cpp, scheduler.cpp, spawn.cpp, ...; see weft_model_runtime in CMakeLists.txt). The
// workers are model threads, and they sleep in the model build's reactor, which blocks until woken: a
// lost wake-up leaves a worker asleep while work waits, and the run ends in a deadlock.
//
// - block_on_spawns_and_joins: the root task, handed in from outside, spawns two children (one may be
//   stolen by the other worker) and joins both: every value arrives, and the runtime ends clean.
// - spawn_from_outside: a plain thread spawns onto the running runtime (the injection queue, then a
//   wake-up) while the root task waits for the spawned task's message.
// - post_from_outside: runtime::post from a plain thread wakes a sleeping worker.
//
// Every run also checks the scheduler's invariant (an invariant() in scheduler::stop_threads): no
// worker is counted idle once the workers have stopped.
#include <optional>

#include "prelude.hpp"
#include "runtime_models.hpp"
#include "weft/detail/model.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/task.hpp"

namespace weft::model {
namespace {

task<int> child(int v) { co_return v; }

task<int> spawn_two_and_join() {
  auto a = spawn(child(1));
  auto b = spawn(child(2));
  int x = co_await std::move(a);
  int y = co_await std::move(b);
  co_return x + y;
}

WEFT_MODEL_CASE(block_on_spawns_and_joins, "runtime/block_on_spawns_and_joins") {
  return check_runtime(name, [] {
    runtime rt(two_workers());
    int sum = rt.block_on(spawn_two_and_join());
    require(sum == 3, "both children's values arrive");
  }, runtime_schedules());
}

WEFT_MODEL_CASE(post_from_outside, "runtime/post_from_outside") {
  return check_runtime(name, [] {
    runtime rt(two_workers());
    auto [tx, rx] = make_oneshot<int>();
    oneshot_sender<int>* sender = &tx;  // model::thread takes a copyable function: the sender stays here
    thread poster([&rt, sender] { rt.post([tx = std::move(*sender)]() mutable { (void)tx.send(7); }); });
    int got = rt.block_on(receive(std::move(rx)));
    poster.join();
    require(got == 7, "the posted send reaches the waiting task");
  }, runtime_schedules());
}

task<void> send_later(oneshot_sender<int> tx) {
  (void)tx.send(5);
  co_return;
}

WEFT_MODEL_CASE(spawn_from_outside, "runtime/spawn_from_outside") {
  return check_runtime(name, [] {
    runtime rt(two_workers());
    auto [tx, rx] = make_oneshot<int>();
    oneshot_sender<int>* sender = &tx;
    thread spawner([&rt, sender] { rt.spawn(send_later(std::move(*sender))).detach(); });
    int got = rt.block_on(receive(std::move(rx)));
    spawner.join();
    require(got == 5, "the spawned task's send reaches the waiting task");
  }, runtime_schedules());
}

}  // namespace
}  // namespace weft::model
