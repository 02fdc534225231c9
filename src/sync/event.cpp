#include "weft/sync/event.hpp"

#include <cstdio>
#include <exception>
#include <mutex>

#include "weft/sync/semaphore.hpp"
#include "weft/sync/wait_group.hpp"

namespace weft {

void event::set() noexcept {
  detail::wake_list wakes;
  set_and_collect(wakes);
  detail::wake_settled(wakes);  // this event may be gone once the first waiter runs
}

void event::set_and_collect(detail::wake_list& wakes) noexcept {
  set_.store(true, std::memory_order_release);
  std::lock_guard guard(lock_);
  detail::settle_all(&waiters_, detail::wait_outcome::satisfied, wakes);
}

bool event::suspend(detail::sync_waiter* w, std::coroutine_handle<> h, detail::context* ctx,
                    bool cancellable) noexcept {
  if (cancellable && ctx->cancelled()) {
    w->outcome = detail::wait_outcome::cancelled;
    return false;
  }
  std::lock_guard guard(lock_);
  // Checked under the lock: set() stores the flag before it takes the lock, so it either is seen here
  // or finds this waiter in the list.
  if (set_.load(std::memory_order_acquire)) return false;
  detail::park(w, &lock_, &waiters_, h, ctx, detail::suspend_reason::event, cancellable);
  return true;
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
    for (; n > 0 && !waiters_.empty(); --n) detail::settle(waiters_.pop_front(), detail::wait_outcome::satisfied, wakes);
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
  if (cancellable && ctx->cancelled()) {
    w->outcome = detail::wait_outcome::cancelled;
    return false;
  }
  std::lock_guard guard(lock_);
  if (std::size_t free = permits_.get(); free > 0 && waiters_.empty()) {
    permits_.set(free - 1);
    return false;
  }
  detail::park(w, &lock_, &waiters_, h, ctx, detail::suspend_reason::semaphore, cancellable);
  return true;
}

// Counting is one atomic add; only a change to or from zero takes the lock, and then re-reads the
// count under it, so that an add() racing the last done() leaves the event as the final count says.
void wait_group::add(std::size_t n) noexcept {
  if (n == 0) return;
  if (count_.fetch_add(n, std::memory_order_acq_rel) != 0) return;
  std::lock_guard guard(lock_);
  if (count_.load(std::memory_order_acquire) != 0) zero_.reset();
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
    std::lock_guard guard(lock_);
    // Woken only after we unlock: a waiter may destroy this group at once.
    if (count_.load(std::memory_order_acquire) == 0) zero_.set_and_collect(wakes);
  }
  detail::wake_settled(wakes);
}

}  // namespace weft
