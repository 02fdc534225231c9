#include "weft/detail/sync_waiter.hpp"

#include <mutex>

namespace weft::detail {
namespace {

/// Spins until `done()`, briefly with the pause instruction, then giving up the CPU between looks (a
/// thread it waits for may be preempted on an oversubscribed machine).
template <class Done>
void spin_until(Done done) noexcept {
  for (int spins = 0; !done(); ++spins) {
    if (spins < 64) {
      cpu_relax();
    } else {
      thread_yield();
    }
  }
}

bool cancel_parked(cancel_waiter* c) noexcept {
  auto* w = static_cast<sync_waiter*>(c);
  // ordering: acq_rel, against the settler's claim: whichever is second sees the first. Lost: the
  // waiter is settled and its wake-up on its way, and the primitive may be gone already (freed by
  // whoever set it, once it returned): not touched.
  waiter_claim open = waiter_claim::open;
  if (!w->claim.compare_exchange_strong(open, waiter_claim::cancelling, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    return false;
  }
  // Won. Still linked: the primitive is alive (it outlives its linked waiters). Unlinked: by a settler
  // that lost the claim and waits, after its unlock, until we are done with the primitive.
  wake_list* settler = nullptr;
  {
    std::lock_guard guard(*w->lock);
    if (w->list != nullptr) {
      w->list->remove(w);
    } else {
      settler = w->settler;
    }
    w->outcome = wait_outcome::cancelled;
  }
  schedule(w->handle, w->ctx);  // on the waiter's loop: cancellation runs there
  // ordering: release, after our unlock: the settler may return (and its caller free the primitive)
  // the moment it sees this.
  if (settler != nullptr) settler->pending.fetch_sub(1, std::memory_order_release);
  return true;
}

}  // namespace

void spin_lock::wait_until_free() noexcept {
  spin_until([this] { return !locked_.load(std::memory_order_relaxed); });
}

sync_waiter* claim_front(waiter_list* list, wake_list& wakes) noexcept {
  while (sync_waiter* w = list->pop_front()) {
    // ordering: acq_rel, against cancel_parked's claim (see the header).
    waiter_claim open = waiter_claim::open;
    if (w->claim.compare_exchange_strong(open, waiter_claim::settled, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      return w;
    }
    // Its canceller is on its way to this lock, and will find it unlinked: it tells us when it is done.
    w->settler = &wakes;
    ++wakes.skipped;
    wakes.pending.fetch_add(1, std::memory_order_relaxed);
  }
  return nullptr;
}

void wait_for_cancellers(wake_list& wakes) noexcept {
  // Each canceller here holds its loop's thread between its claim and its unlock: a few instructions.
  // ordering: acquire, against each canceller's release once it has unlocked the primitive.
  spin_until([&wakes] { return wakes.pending.load(std::memory_order_acquire) == 0; });
}

void park(sync_waiter* w, spin_lock* lock, waiter_list* list, std::coroutine_handle<> h, context* ctx,
          suspend_reason why, bool cancellable) noexcept {
  note_suspend(why);
  w->lock = lock;
  w->handle = h;
  w->ctx = ctx;
  w->home = current_worker();
  w->outcome = wait_outcome::waiting;
  w->claim.store(waiter_claim::open, std::memory_order_relaxed);  // published by the unlock
  w->settler = nullptr;
  w->on_cancel = &cancel_parked;
  list->push_back(w);
  // Not armed, a wait through cancellation still names its task's context to the wake: the loop
  // resumes it as that task (its trace slice, the slow-task report's name).
  w->armed = cancellable;
  if (cancellable) ctx->arm(w);
}

void abandon(sync_waiter* w) noexcept {
  // Only a frame destroyed while it waits gets here with `lock` set: at runtime shutdown, after the
  // workers' threads have stopped, so `claim` is read without the lock. A waiter already claimed (settled
  // or cancelled) is on no list, and its primitive may be gone already (it may have lived in a task that
  // ended after waking it): it must not be touched. One still parked has a primitive that is alive.
  if (w->lock == nullptr || w->claim.load(std::memory_order_relaxed) != waiter_claim::open) return;
  std::lock_guard guard(*w->lock);
  if (w->list != nullptr) w->list->remove(w);
}

}  // namespace weft::detail
