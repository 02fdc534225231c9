// task<T>: weft's coroutine type.
//
// A task is lazy: calling a coroutine that returns `task<T>` allocates its frame (from a recycling
// allocator) and runs nothing. `co_await`ing it starts it, and the awaiting coroutine resumes, by
// symmetric transfer, when it finishes: a chain of a million nested awaits uses constant stack.
// A task is move-only and awaited once, as an rvalue: `co_await make()` or `co_await std::move(t)`.
// An exception thrown inside propagates out of the `co_await`.
//
// The awaited task runs in the awaiting task's cancellation context: cancelling the outer task cuts
// short whatever await point the inner one is suspended on.
//
//     weft::task<int> answer() { co_return 42; }
//     weft::task<int> twice() { co_return 2 * co_await answer(); }
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/promise_base.hpp"

namespace weft {

template <class T = void>
class task;

namespace detail {

template <class T>
struct task_promise : promise_base {
  std::optional<T> value;

  task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value.emplace(std::forward<U>(v));
  }
  /// The outcome: the value, or the exception rethrown.
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : promise_base {
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "task<T&> is not supported: return a pointer or std::reference_wrapper");

 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  /// False for a default-constructed or moved-from task.
  bool valid() const noexcept { return static_cast<bool>(h_); }
  /// True once the task ran to completion (its value or exception is ready).
  bool done() const noexcept { return h_ && h_.done(); }

  struct awaiter {
    std::coroutine_handle<promise_type> h;

    bool await_ready() const noexcept { return false; }
    template <detail::weft_promise P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> awaiting) const noexcept {
      promise_type& p = h.promise();
      p.ctx = awaiting.promise().ctx;
      p.continuation = awaiting;
      return h;
    }
    T await_resume() const { return h.promise().take(); }
  };

  /// Starts the task and waits for its outcome. Only an rvalue can be awaited, so a task is awaited once.
  awaiter operator co_await() && noexcept {
    assert(h_ && !h_.done() && "awaiting an empty or finished task");
    return awaiter{h_};
  }

  /// Low-level access for the runtime and the combinators.
  std::coroutine_handle<promise_type> handle() const noexcept { return h_; }
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }

 private:
  void reset() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }

  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}
}  // namespace detail

/// True where `T` is some `task<U>`.
template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

namespace this_task {

/// Awaitable that tells, without suspending, whether the current task has been cancelled.
///
///     for (;;) {
///       if (bool stop = co_await weft::this_task::cancelled()) break;
///       ...
///     }
struct cancelled {
  bool value = false;
  bool await_ready() const noexcept { return false; }
  template <detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    value = h.promise().ctx != nullptr && h.promise().ctx->cancelled();
    return false;
  }
  bool await_resume() const noexcept { return value; }
};

}  // namespace this_task
}  // namespace weft
