#include "weft/sync/event.hpp"

#include <cstdio>
#include <exception>
#include <mutex>

#include "weft/detail/coop.hpp"
#include "weft/sync/semaphore.hpp"
#include "weft/sync/wait_group.hpp"

namespace weft {

void event::set() noexcept {
  detail::wake_list wakes;
  {
    std::lock_guard guard(lock_);
    set_locked(wakes);
  }  // lifetime: the unlock is set()'s last touch of the event (see the header)
  detail::wake_settled(wakes);  // this event may be gone once the first waiter runs
}

void event::set_locked(detail::wake_list& wakes) noexcept {
  detail::settle_all(&waiters_, detail::wait_outcome::satisfied, wakes);
  set_.set(true);
}

void event::reset() noexcept {
  std::lock_guard guard(lock_);
  set_.set(false);
}

bool event::is_set() const noexcept {
  std::lock_guard guard(lock_);
  return set_.get();
}

bool event::suspend(detail::sync_waiter* w, std::coroutine_handle<> h, detail::context* ctx,
                    bool cancellable) noexcept {
  if (cancellable && ctx->cut_if_cancelled()) {
    w->outcome = detail::wait_outcome::cancelled;
    return detail::yield_if_budget_spent(h, ctx);
  }
  {
    std::lock_guard guard(lock_);
    // Checked under the lock, which set() holds from its first look at the waiters to its flag: either
    // the flag is seen here (after set()'s unlock, its last touch of the event), or set() finds this
    // waiter in the list.
    if (!set_.get()) {
      detail::park(w, &lock_, &waiters_, h, ctx, detail::suspend_reason::event, cancellable);
      return true;
    }
  }
  return detail::yield_if_budget_spent(h, ctx);  // the event may be gone: the task is all it touches
}

bool semaphore::try_acquire() noexcept {
  std::lock_guard guard(lock_);
  std::size_t free = permits_.get();
  if (free == 0 || !waiters_.empty()) return false;
  permits_.set(free - 1);
  return true;
}

void semaphore::release(std::size_t n) noexcept {
  detail::wake_list wakes;
  {
    std::lock_guard guard(lock_);
    for (; n > 0; --n) {
      detail::sync_waiter* w = detail::claim_front(&waiters_, wakes);
      if (w == nullptr) break;
      detail::settle(w, detail::wait_outcome::satisfied, wakes);
    }
    permits_.set(permits_.get() + n);
  }
  detail::wake_settled(wakes);
}

std::size_t semaphore::available() const noexcept {
  std::lock_guard guard(lock_);
  return permits_.get();
}

bool semaphore::suspend(detail::sync_waiter* w, std::coroutine_handle<> h, detail::context* ctx,
                        bool cancellable) noexcept {
  if (cancellable && ctx->cut_if_cancelled()) {
    w->outcome = detail::wait_outcome::cancelled;
    return detail::yield_if_budget_spent(h, ctx);
  }
  {
    std::lock_guard guard(lock_);
    std::size_t free = permits_.get();
    if (free == 0 || !waiters_.empty()) {
      detail::park(w, &lock_, &waiters_, h, ctx, detail::suspend_reason::semaphore, cancellable);
      return true;
    }
    permits_.set(free - 1);
  }
  return detail::yield_if_budget_spent(h, ctx);
}

// Counting is one atomic add; only a change to or from zero takes the lock (the event's own), and then
// re-reads the count under it, so that an add() racing the last done() leaves the event as the final
// count says. One lock for both: the event's unlock is then the last thing done() does to the group,
// and a waiter sees the event set only after it (see event.hpp), so it may destroy the group at once.
void wait_group::add(std::size_t n) noexcept {
  if (n == 0) return;
  if (count_.fetch_add(n, std::memory_order_acq_rel) != 0) return;
  std::lock_guard guard(zero_.lock_);
  if (count_.load(std::memory_order_acquire) != 0) zero_.set_.set(false);
}

void wait_group::done() noexcept {
  std::size_t before = count_.fetch_sub(1, std::memory_order_acq_rel);
  if (before == 0) {
    std::fputs("weft: wait_group::done() called more often than add()\n", stderr);
    std::terminate();
  }
  if (before != 1) return;
  detail::wake_list wakes;
  {
    std::lock_guard guard(zero_.lock_);
    if (count_.load(std::memory_order_acquire) == 0) zero_.set_locked(wakes);
  }  // lifetime: done()'s last touch of the group
  detail::wake_settled(wakes);  // woken only after we unlock: a waiter may destroy this group at once
}

}  // namespace weft
