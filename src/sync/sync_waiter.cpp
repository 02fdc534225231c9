#include "weft/detail/sync_waiter.hpp"

#include <mutex>

namespace weft::detail {
namespace {

bool cancel_parked(cancel_waiter* c) noexcept {
  auto* w = static_cast<sync_waiter*>(c);
  std::lock_guard guard(*w->lock);
  if (w->list == nullptr) return false;  // settled meanwhile: its wake-up is on its way (see the header)
  w->list->remove(w);
  w->outcome = wait_outcome::cancelled;
  schedule(w->handle, w->ctx);  // on the waiter's loop: cancellation runs there
  return true;
}

}  // namespace

void spin_lock::wait_until_free() noexcept {
  for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
    if (spins < 64) {
      cpu_relax();
    } else {
      thread_yield();
    }
  }
}

void park(sync_waiter* w, spin_lock* lock, waiter_list* list, std::coroutine_handle<> h, context* ctx,
          suspend_reason why, bool cancellable) noexcept {
  note_suspend(why);
  w->lock = lock;
  w->handle = h;
  w->ctx = ctx;
  w->home = current_worker();
  w->outcome = wait_outcome::waiting;
  w->on_cancel = &cancel_parked;
  list->push_back(w);
  // Not armed, a wait through cancellation still names its task's context to the wake: the loop
  // resumes it as that task (its trace slice, the slow-task report's name).
  w->armed = cancellable;
  if (cancellable) ctx->arm(w);
}

void abandon(sync_waiter* w) noexcept {
  // Only a frame destroyed while it waits gets here with `lock` set: at runtime shutdown, after the
  // workers' threads have stopped, so `outcome` is read without the lock. A waiter already settled
  // or cancelled is on no list, and its primitive may be gone already (it may have lived in a task that
  // ended after waking it): it must not be touched. One still parked has a primitive that is alive.
  if (w->lock == nullptr || w->outcome != wait_outcome::waiting) return;
  std::lock_guard guard(*w->lock);
  if (w->list != nullptr) w->list->remove(w);
}

}  // namespace weft::detail
