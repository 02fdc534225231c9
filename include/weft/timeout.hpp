// timeout: bound the time an awaitable may take.
//
//     weft::result<std::string> body = co_await weft::timeout(2s, fetch(url));
//     if (!body && body.error() == weft::errc::timed_out) { ... }
//
// Runs `awaitable` (a task, a join_handle, a sleep, ...) in a child cancellation context and arms a
// timer. If the timer fires first, the child is cancelled; timeout then waits for it to finish (its
// resources released) and returns `errc::timed_out`, discarding whatever the child produced.
// Otherwise it returns the child's outcome: a `result<U>` passes through as is, `void` becomes
// `result<void>`, any other `T` becomes `result<T>`. An exception from the child is rethrown.
//
// Cancelling the awaiting task cancels the child too; timeout then returns the child's outcome.
#pragma once

#include <coroutine>
#include <type_traits>
#include <utility>

#include "weft/detail/awaitable_traits.hpp"
#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/detail/timer_entry.hpp"
#include "weft/error.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft {

namespace detail {

template <class T>
using timeout_result_t = std::conditional_t<is_result_v<T>, T, result<T>>;

/// The non-template half: arming, firing and disarming the deadline.
class timeout_timer : timer_entry {
 public:
  timeout_timer() noexcept = default;
  timeout_timer(const timeout_timer&) = delete;
  ~timeout_timer() { disarm(); }

  void arm(clock::time_point deadline, context* child) noexcept;
  void disarm() noexcept;
  bool fired() const noexcept { return fired_; }

 private:
  static void on_fire(timer_entry* e) noexcept;
  context* child_ = nullptr;
  bool fired_ = false;
};

template <class T>
class timeout_awaitable {
 public:
  timeout_awaitable(task<T> t, clock::time_point deadline) noexcept : deadline_(deadline), task_(std::move(t)) {}
  timeout_awaitable(timeout_awaitable&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <weft_promise P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
    auto& p = task_.handle().promise();
    ctx_.attach(h.promise().ctx);
    p.ctx = &ctx_;
    p.continuation = h;
    timer_.arm(deadline_, &ctx_);
    return task_.handle();
  }
  timeout_result_t<T> await_resume() {
    timer_.disarm();
    ctx_.detach();
    if (timer_.fired()) return fail(errc::timed_out);
    if constexpr (std::is_void_v<T>) {
      task_.handle().promise().take();
      return {};
    } else {
      return task_.handle().promise().take();
    }
  }

 private:
  // lifetime: declared last, destroyed first: the child's frame (whose awaits point at ctx_) dies
  // before its context and the timer that would cancel it.
  context ctx_;
  timeout_timer timer_;
  clock::time_point deadline_;
  task<T> task_;
};

}  // namespace detail

/// Waits for `awaitable` for at most `d`; see the top of this header.
template <class A>
auto timeout(clock::duration d, A awaitable) -> task<detail::timeout_result_t<detail::await_result_t<A>>> {
  using T = detail::await_result_t<A>;
  clock::time_point deadline = clock::now() + d;
  co_return co_await detail::timeout_awaitable<T>(detail::as_task(std::move(awaitable)), deadline);
}

}  // namespace weft
