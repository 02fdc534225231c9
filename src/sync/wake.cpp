// wake_on: where the waiter protocol (sync_waiter.cpp) meets the runtime's loops. Kept apart so that
// sync_waiter.cpp needs nothing of the worker but current_worker() and schedule(): the model build
// compiles it with loops of its own (tests/model/loop.hpp) instead of this file.
#include "weft/detail/sync_waiter.hpp"

#include "runtime/worker.hpp"

namespace weft::detail {

void wake_on(worker* home, std::coroutine_handle<> h, context* ctx) noexcept {
  if (worker* here = current_worker(); here == home) {
    here->schedule(h, ctx);
  } else {
    home->remote_schedule(h, ctx);
  }
}

}  // namespace weft::detail
