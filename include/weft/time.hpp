// Time: weft's clock, sleeping, intervals, and moving virtual time.
//
// Timers live in a hierarchical timing wheel with 1 ms ticks: arming and cancelling one is O(1) and
// allocates nothing (the wheel's node lives inside the awaitable). A sleep never ends early; it ends
// within about a millisecond after its deadline on a quiet loop.
#pragma once

#include <chrono>
#include <coroutine>
#include <limits>

#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/detail/timer_entry.hpp"
#include "weft/error.hpp"

namespace weft {

/// The runtime's monotonic clock (steady_clock's epoch). Under a paused runtime it reads virtual time.
struct clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<clock, duration>;
  static constexpr bool is_steady = true;

  /// The current loop's time; outside a runtime, std::chrono::steady_clock's.
  static time_point now() noexcept;
};

/// `t + d`, saturating: a sum past what a time_point holds (a duration up to `duration::max()`, meant as
/// "no limit") is `time_point::max()`, which never comes; below the least, `time_point::min()`. Every
/// deadline weft computes from a duration goes through here, so no timeout overflows into the past.
constexpr clock::time_point deadline_after(clock::time_point t, clock::duration d) noexcept {
  using rep = clock::rep;
  rep base = t.time_since_epoch().count();
  rep add = d.count();
  if (add > 0 && base > std::numeric_limits<rep>::max() - add) return clock::time_point::max();
  if (add < 0 && base < std::numeric_limits<rep>::min() - add) return clock::time_point::min();
  return t + d;
}

/// The awaitable behind `sleep_until` and `sleep_for`.
///
/// Returns `result<void>`: success at the deadline, or `errc::operation_canceled` if the task is
/// cancelled first (at once, without suspending, if it already was). Cancellation unlinks the timer.
class [[nodiscard]] sleep_awaitable : detail::timer_entry, detail::cancel_waiter {
 public:
  explicit sleep_awaitable(clock::time_point deadline) noexcept : deadline_(deadline) {}
  sleep_awaitable(sleep_awaitable&& other) noexcept : deadline_(other.deadline_) {}
  sleep_awaitable& operator=(sleep_awaitable&&) = delete;
  ~sleep_awaitable();

  bool await_ready() const noexcept { return false; }
  template <detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return suspend(h, h.promise().ctx);
  }
  result<void> await_resume() noexcept;

  clock::time_point deadline() const noexcept { return deadline_; }

 private:
  bool suspend(std::coroutine_handle<> h, detail::context* ctx) noexcept;
  static void fired(detail::timer_entry* e) noexcept;
  static bool cut_short(detail::cancel_waiter* w) noexcept;

  clock::time_point deadline_;
  std::coroutine_handle<> waiting_;
  detail::context* ctx_ = nullptr;
  bool canceled_ = false;
};

/// Waits until `deadline`.
///
///     if (auto r = co_await weft::sleep_until(start + 2s); !r) co_return r;   // cancelled
inline sleep_awaitable sleep_until(clock::time_point deadline) noexcept { return sleep_awaitable(deadline); }

/// Waits for `d`, measured from this call. `duration::max()` waits until cancelled.
///
///     co_await weft::sleep_for(100ms);
inline sleep_awaitable sleep_for(clock::duration d) noexcept {
  return sleep_awaitable(deadline_after(clock::now(), d));
}

/// Ticks every `period`. The first tick completes at once. Ticks missed while the task was busy come
/// as one late tick, at once; the ticks after it stay on the original grid: a slow consumer never
/// gets a burst of catch-up ticks.
///
///     weft::interval every(250ms);
///     while (auto ok = co_await every.tick()) { poll(); }   // ends when the task is cancelled
class interval {
 public:
  explicit interval(clock::duration period) noexcept : interval(clock::now(), period) {}
  interval(clock::time_point first, clock::duration period) noexcept : next_(first), period_(period) {}

  /// Waits for the next tick; `errc::operation_canceled` if the task is cancelled.
  sleep_awaitable tick() noexcept;
  clock::duration period() const noexcept { return period_; }

 private:
  clock::time_point next_;
  clock::duration period_;
};

/// Under a paused runtime, moves virtual time forward by `d`, wakes the sleepers now due, and yields
/// so they run. Under a real-time runtime it only yields.
struct advance {
  explicit advance(clock::duration d) noexcept : by(d) {}
  bool await_ready() const noexcept { return false; }
  template <detail::weft_promise P>
  void await_suspend(std::coroutine_handle<P> h) const noexcept {
    suspend(h, h.promise().ctx);
  }
  void await_resume() const noexcept {}

  clock::duration by;

 private:
  void suspend(std::coroutine_handle<> h, detail::context* ctx) const noexcept;
};

}  // namespace weft
