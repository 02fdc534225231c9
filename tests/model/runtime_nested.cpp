// A task_group left without join() on a runtime with two workers, built from the real sources (see
// runtime_wakeups.cpp): its destructor runs worker 0's loop, nested inside the task, until the group's
// child has ended.
//
// - nested_loop_passes_the_search_on: the child waits for a blocking job (it cannot be cut short once
//   it runs), and the job waits for a task that a plain thread spawns meanwhile. The spawn goes to the
//   injection queue and wakes one sleeping worker to search, the first it finds: worker 0, asleep in
//   its nested loop, which takes nothing from other queues. Unless it passes the search on, the count
//   of searching workers stays at one, no other worker is woken, and the job waits for ever (the
//   runtime's defect 5 of issue 22: a task spawned from outside started 1,700 ms late).
#include "prelude.hpp"
#include "runtime_models.hpp"
#include "weft/blocking.hpp"
#include "weft/detail/model.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"
#include "weft/task_group.hpp"
#include "weft/yield.hpp"

namespace weft::model {
namespace {

struct flags {
  atomic<bool> job_started{false};
  atomic<bool> raised{false};
};

task<void> wait_for_the_job(flags* f) {
  co_await spawn_blocking([f] {
    f->job_started.store(true, release);
    f->job_started.notify_all();
    while (!f->raised.load(acquire)) f->raised.wait(false, acquire);
  });
}

task<int> leave_the_group_unjoined(flags* f) {
  {
    task_group group;
    group.spawn(wait_for_the_job(f)).detach();
    co_await weft::yield_now{};  // the child starts, and submits its job
    // Until the job runs (holding this loop a moment, which a model may): a cancel then cannot cut it
    // short, and the destructor must wait for it.
    while (!f->job_started.load(acquire)) f->job_started.wait(false, acquire);
  }  // cancels the child and runs this loop until it has ended
  co_return 1;
}

task<void> raise(flags* f) {
  f->raised.store(true, release);
  f->raised.notify_all();
  co_return;
}

WEFT_MODEL_CASE(nested_loop_passes_the_search_on, "runtime/nested_loop_passes_the_search_on") {
  return check_runtime(name, [] {
    flags f;  // outlives the runtime
    runtime_options o = two_workers();
    o.on_unhandled_exception = [](std::string_view, std::exception_ptr) {};  // the forgotten join, reported
    runtime rt(o);
    thread spawner([&rt, &f] { rt.spawn(raise(&f)).detach(); });
    int out = rt.block_on(leave_the_group_unjoined(&f));
    spawner.join();
    require(out == 1, "the task that left the group's scope goes on");
  }, runtime_schedules(1));  // five threads: two preemptions are 1.3 million runs and more; the defect needs one
}

}  // namespace
}  // namespace weft::model
