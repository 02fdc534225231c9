// parallel_for_async at runtime shutdown, on a runtime built from the real sources (see
// runtime_wakeups.cpp), with a compute pool of two workers made for the run
// (detail::use_compute_pool_for_models: the process-wide pool would outlive the run's threads).
//
// - shutdown_waits_for_running_chunks: a task on a one-loop runtime awaits parallel_for_async over two
//   items, whose body writes into the task's frame; block_on's task returns first, and destroying the
//   runtime destroys the waiting frame. A chunk still running must not outlive it: the frame's
//   destruction stops the chunks not started and waits for the ones running (issue 22's defect 3: the
//   compute threads went on calling the body in the destroyed frame, 3,825 calls after it was gone).
#include <array>

#include "parallel/compute_pool.hpp"
#include "prelude.hpp"
#include "runtime_models.hpp"
#include "weft/detail/model.hpp"
#include "weft/parallel.hpp"
#include "weft/runtime.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft::model {
namespace {

task<void> compute_into_the_frame() {
  // In this frame, one per item (the body runs on several threads at once): a chunk's write after the
  // frame is gone is a use after free.
  std::array<cell<int>, 2> hits;
  co_await parallel_for_async(std::size_t{0}, hits.size(), [&hits](std::size_t i) { hits[i].set(1); });
}

task<int> leave_it_running() {
  spawn(compute_into_the_frame()).detach();
  co_return 1;
}

WEFT_MODEL_CASE(shutdown_waits_for_running_chunks, "runtime/shutdown_waits_for_running_chunks") {
  return check_runtime(name, [] {
    runtime compute(two_workers());
    weft::detail::use_compute_pool_for_models(&compute);
    {
      runtime rt;  // one loop, on this thread
      require(rt.block_on(leave_it_running()) == 1, "block_on's task returns");
      // A turn of the loop for the spawned task to start its chunks: another block_on.
      (void)rt.block_on([]() -> task<int> { co_return 0; }());
    }  // destroys the waiting frame: it must wait for the chunks that run
    weft::detail::use_compute_pool_for_models(nullptr);
  }, runtime_schedules(1));  // three threads, but a long run: 2 preemptions are 650,000 runs (38 s); the defects need 1
}

}  // namespace
}  // namespace weft::model
