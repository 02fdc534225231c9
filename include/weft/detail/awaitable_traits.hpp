// What `co_await x` yields, and turning any awaitable into a task.
#pragma once

#include <type_traits>
#include <utility>

#include "weft/task.hpp"

namespace weft::detail {

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
    return std::forward<A>(a).operator co_await();
  } else {
    return std::forward<A>(a);
  }
}

/// The type of `co_await std::declval<A>()` for an rvalue A.
template <class A>
using await_result_t = decltype(get_awaiter(std::declval<A>()).await_resume());

/// Wraps any awaitable in a task (a task is passed through). The awaitable lives in the task's frame.
template <class A>
auto as_task(A a) -> task<await_result_t<A>> {
  co_return co_await std::move(a);
}
template <class T>
task<T> as_task(task<T> t) noexcept {
  return t;
}

}  // namespace weft::detail
