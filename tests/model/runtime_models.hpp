// What the whole-runtime models (runtime_*.cpp) share: how they check, the runtime they make, and the
// task that waits for a oneshot's value.
#pragma once

#include <functional>
#include <string_view>

#include "weft/detail/frame_alloc.hpp"
#include "weft/detail/model.hpp"
#include "weft/runtime.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/task.hpp"

namespace weft::model {

/// The frame cache holds every frame block it was given: those malloc handed out and has not had back
/// are parked in its depot (called once every thread has given its lists back), each list's count is
/// its length, and depot_over counts the lists above what trimming keeps.
inline void every_frame_block_accounted() {
  detail::frame_cache_census c = detail::frame_cache_take_census();
  require(c.from_malloc == c.to_malloc + c.parked,
          "every frame block malloc handed out is back in malloc or parked in the depot (none lost)");
  require(c.lengths_match, "each list in the depot holds as many blocks as it counts");
  require(c.depot_over == c.lists_above_keep, "depot_over counts the depot's lists above depot_keep");
}

/// check() for a body that runs whole runtimes. The frame cache is on in the model build, and its depot
/// is a static: each run starts with it empty (or one run's frames would change the next run's
/// schedule). Every thread that used the cache gives its lists back as it ends (hook::at_thread_exit,
/// as a thread_local's destructor does in the normal build), so at the end of each run every frame
/// block must be accounted for.
inline report check_runtime(std::string_view name, std::function<void()> body, options opts = {}) {
  return check(name, model_fns{detail::frame_cache_clear, std::move(body), every_frame_block_accounted, {}},
               std::move(opts));
}

/// A runtime of two workers, each a model thread.
inline runtime_options two_workers() {
  runtime_options o;
  o.workers = 2;
  return o;
}

/// The oneshot's value, or -1 if none comes (closed, cancelled).
inline task<int> receive(oneshot_receiver<int> rx) {
  auto got = co_await std::move(rx);
  co_return got ? *got : -1;
}

}  // namespace weft::model
