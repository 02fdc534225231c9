// What the whole-runtime models (runtime_*.cpp) share: the runtime they make, and the task that waits
// for a oneshot's value.
#pragma once

#include "weft/runtime.hpp"
#include "weft/sync/oneshot.hpp"
#include "weft/task.hpp"

namespace weft::model {

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
