// event: a flag that tasks wait for. Thread-safe: set it from any task, any worker, or a plain thread.
//
//     weft::event ready;
//     spawn([&]() -> task<void> { co_await load(); ready.set(); }).detach();
//     if (auto r = co_await ready.wait(); !r) { /* cancelled */ }
//
// A manual-reset event: once set, every wait completes at once until reset().
//
// Lifetime: a task that saw the event set (a wait that completed, or is_set() true) may destroy it at
// once, even while set() is still returning on another thread: set() publishes the flag under the
// event's lock, and the unlock is the last it does to the event; every reader of the flag takes the
// lock, so it sees the flag only after that unlock.
#pragma once

#include <coroutine>

#include "weft/detail/sync_waiter.hpp"

namespace weft {

class wait_group;

class event {
 public:
  event() noexcept = default;
  explicit event(bool initially_set) noexcept : set_(initially_set) {}
  /// Destroying an event while tasks wait on it is a bug: they are never woken.
  ~event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the flag and wakes every waiting task (each on its own loop).
  void set() noexcept;
  /// Clears the flag; later waits suspend until the next set().
  void reset() noexcept;
  /// Whether the flag is set now (it takes the event's lock: see "Lifetime" above).
  bool is_set() const noexcept;

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
  /// Under lock_: set(), leaving the waiters in `wakes` to be woken by the caller once it has unlocked.
  void set_locked(detail::wake_list& wakes) noexcept;
  bool suspend(detail::sync_waiter* w, std::coroutine_handle<> h, detail::context* ctx, bool cancellable) noexcept;

  mutable detail::spin_lock lock_;  // also wait_group's, which sets and resets this event under it
  detail::waiter_list waiters_;
  detail::cell<bool> set_{false};  // under lock_
};

}  // namespace weft
