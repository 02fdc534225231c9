// event: a flag that tasks wait for. Thread-safe: set it from any task, any worker, or a plain thread.
//
//     weft::event ready;
//     spawn([&]() -> task<void> { co_await load(); ready.set(); }).detach();
//     if (auto r = co_await ready.wait(); !r) { /* cancelled */ }
//
// A manual-reset event: once set, every wait completes at once until reset().
#pragma once

#include <atomic>
#include <coroutine>

#include "weft/detail/sync_waiter.hpp"

namespace weft {

class wait_group;

class event {
 public:
  event() noexcept = default;
  explicit event(bool initially_set) noexcept : set_(initially_set) {}
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the flag and wakes every waiting task (each on its own loop).
  void set() noexcept;
  /// Clears the flag; later waits suspend until the next set().
  void reset() noexcept { set_.store(false, std::memory_order_release); }
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }

  /// Completes once the flag is set: at once if it is. `errc::operation_canceled` if the waiting task
  /// is cancelled first.
  detail::void_wait_awaiter<event> wait() noexcept { return detail::void_wait_awaiter<event>(this); }
  /// As wait(), but cancellation does not cut it short (for waits that guard memory others still use).
  detail::void_wait_awaiter<event> wait_through_cancel() noexcept {
    return detail::void_wait_awaiter<event>(this, false);
  }

 private:
  friend struct detail::void_wait_awaiter<event>;
  friend class wait_group;
  /// set(), leaving the waiters in `wakes` to be woken by the caller once it holds no lock.
  void set_and_collect(detail::wake_list& wakes) noexcept;
  bool suspend(detail::sync_waiter* w, std::coroutine_handle<> h, detail::context* ctx, bool cancellable) noexcept;

  detail::spin_lock lock_;
  detail::waiter_list waiters_;
  std::atomic<bool> set_{false};
};

}  // namespace weft
