// What every weft coroutine promise shares, and what weft's awaitables rely on.
//
// A weft awaitable's await_suspend takes `std::coroutine_handle<P>` where P derives from promise_base,
// reads the awaiting task's cancellation context from it, and arms itself there.
//
// Completion: a coroutine awaited by another (`co_await some_task()`) resumes its `continuation` by
// symmetric transfer. A coroutine driven by the runtime (a spawned root, a combinator's child) has an
// `on_done` hook instead, which records the outcome and returns the coroutine to transfer to next
// (often `std::noop_coroutine()`, which returns control to the loop).
#pragma once

#include <concepts>
#include <coroutine>
#include <exception>

#include "weft/detail/context.hpp"
#include "weft/detail/suspend_reason.hpp"
#include "weft/detail/frame_alloc.hpp"

namespace weft::detail {

using done_hook = std::coroutine_handle<> (*)(void* arg) noexcept;

struct promise_base : frame_allocated {
  std::coroutine_handle<> continuation;
  done_hook on_done = nullptr;
  void* on_done_arg = nullptr;
  context* ctx = nullptr;
  std::exception_ptr exception;

  std::suspend_always initial_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
      promise_base& p = h.promise();
      if (p.on_done != nullptr) return p.on_done(p.on_done_arg);
      return p.continuation;
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() const noexcept { return {}; }
};

/// A coroutine handle whose promise is weft's: the only kind of coroutine weft's awaitables accept.
template <class P>
concept weft_promise = std::derived_from<P, promise_base>;

/// `co_await current_context()`: the awaiting task's cancellation context, without suspending.
struct current_context {
  context* ctx = nullptr;
  bool await_ready() const noexcept { return false; }
  template <weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    ctx = h.promise().ctx;
    return false;
  }
  context* await_resume() const noexcept { return ctx; }
};

}  // namespace weft::detail
