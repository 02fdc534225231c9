// when_any: run tasks concurrently; the first to finish wins (JavaScript's Promise.race).
//
//     auto winner = co_await weft::when_any(from_cache(key), from_db(key));
//     // winner.index() says which; std::get<I>(winner) is its value
//
// The first task to finish — with a value or an exception — wins: its value is returned, or its
// exception rethrown. The others are cancelled, and when_any waits for them to finish before it
// returns, so nothing outlives the call. The range form returns `{index, value}`.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "weft/detail/fan_out.hpp"
#include "weft/task.hpp"

namespace weft {

/// The winner of a range when_any or first_success: its position and its value.
template <class T>
struct any_result {
  std::size_t index;
  T value;
};
template <>
struct any_result<void> {
  std::size_t index;
};

namespace detail {
template <class T>
any_result<T> take_winner(std::vector<task<T>>& tasks, std::ptrdiff_t chosen) {
  auto i = static_cast<std::size_t>(chosen);
  if constexpr (std::is_void_v<T>) {
    tasks[i].handle().promise().take();
    return {i};
  } else {
    return {i, tasks[i].handle().promise().take()};
  }
}
}  // namespace detail

template <class... T>
task<std::variant<detail::non_void_t<T>...>> when_any(task<T>... tasks) {
  static_assert(sizeof...(T) > 0, "when_any needs at least one task");
  co_return co_await detail::fan_tuple<detail::fan_mode::any, T...>(std::move(tasks)...);
}

/// Throws std::invalid_argument for an empty vector: there would be no winner.
template <class T>
task<any_result<T>> when_any(std::vector<task<T>> tasks) {
  if (tasks.empty()) throw std::invalid_argument("weft::when_any: no tasks");
  detail::fan_range<detail::fan_mode::any, T> fan(std::move(tasks));
  co_await fan;
  co_return detail::take_winner(fan.tasks(), fan.chosen());
}

}  // namespace weft
