// yield_now: let the other ready tasks run.
#pragma once

#include <coroutine>

#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/error.hpp"

namespace weft {

namespace detail {
void schedule(std::coroutine_handle<> h, context* ctx) noexcept;
}

/// Moves the current task to the back of the run queue, so every task already ready runs first.
/// Returns `errc::operation_canceled` at once, without yielding, if the task has been cancelled.
///
///     for (auto& item : big_batch) { process(item); co_await weft::yield_now(); }
struct [[nodiscard]] yield_now {
  bool canceled = false;

  bool await_ready() const noexcept { return false; }
  template <detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    detail::context* ctx = h.promise().ctx;
    if (ctx->cut_if_cancelled()) {
      canceled = true;
      return false;
    }
    detail::schedule(h, ctx);  // the trace notes a yield there, when it sees a task wake itself
    return true;
  }
  result<void> await_resume() const noexcept {
    if (canceled) return fail(errc::operation_canceled);
    return {};
  }
};

}  // namespace weft
