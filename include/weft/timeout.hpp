// timeout: bound the time an awaitable may take.
//
//     weft::result<std::string> body = co_await weft::timeout(2s, fetch(url));
//     if (!body && body.error() == weft::errc::timed_out) { ... }
//
// Runs `awaitable` (a task, a join_handle, a sleep, ...) in a child cancellation context and arms a
// timer. If the timer fires first, the child is cancelled; timeout then waits for it to finish (its
// resources released) and returns `errc::timed_out`. Otherwise it returns the child's outcome: a
// `result<U>` passes through as is, `void` becomes `result<void>`, any other `T` becomes `result<T>`.
// An exception from the child is rethrown.
//
// An outcome that already happened is never thrown away (docs/design/cancellation.md): if the deadline
// falls due in the same turn as the child's outcome — a value received from a channel on another
// worker, a permit granted, a blocking job that ran — the cancel finds nothing to cut short, and
// timeout returns that outcome, late as it is. A failed send's value is handed back with the error
// `timed_out`.
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
#include "weft/sync/send_result.hpp"
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

/// After the deadline fired: true if the child's outcome is what the cancellation made of it (so
/// timeout reports timed_out), false if it is an outcome that happened (so timeout returns it).
/// See "Outcomes that happened" in docs/design/cancellation.md.
template <class T>
bool cancelled_outcome(bool cut, task_promise<T>& p) {
  if constexpr (is_send_result_v<T>) {
    // A send hands its value back when it fails: kept, and the reason told as the deadline.
    if (!p.exception && p.value && p.value->error() == errc::operation_canceled) {
      p.value.emplace(make_error_code(errc::timed_out), p.value->take_back());
    }
    return false;
  } else if constexpr (is_result_v<T>) {
    if (!p.exception && p.value && !p.value->has_value() && p.value->error() == errc::operation_canceled) {
      return true;  // it met the cancel at an await point that checked before suspending
    }
  }
  return cut;
}

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
    // ctx_.was_cut(): the deadline's cancel cut an await point of the child short, then or (a joined
    // task on another loop) later.
    if (timer_.fired() && cancelled_outcome(ctx_.was_cut(), task_.handle().promise())) return fail(errc::timed_out);
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

/// Waits for `awaitable` for at most `d` (`clock::duration::max()`: no limit); see the top of this header.
template <class A>
auto timeout(clock::duration d, A awaitable) -> task<detail::timeout_result_t<detail::await_result_t<A>>> {
  using T = detail::await_result_t<A>;
  clock::time_point deadline = deadline_after(clock::now(), d);  // duration::max(): no limit
  co_return co_await detail::timeout_awaitable<T>(detail::as_task(std::move(awaitable)), deadline);
}

}  // namespace weft
