// when_any: run tasks concurrently; the first to finish wins (JavaScript's Promise.race).
//
//     auto winner = co_await weft::when_any(from_cache(key), from_db(key));
//     // winner.index() says which; std::get<I>(winner) is its value
//
// The first task to finish — with a value or an exception — wins: its value is returned, or its
// exception rethrown. The others are cancelled, and when_any waits for them to finish before it
// returns, so nothing outlives the call. The range form returns `{index, value}`.
//
// Nothing that happened is thrown away. A loser's outcome (a value received, a permit granted) can
// happen in the same turn as the winner's, before its cancel can cut it; such a loser ends with its
// value, and it comes back in `also_finished`. If the first task to finish threw while such a loser
// ended with a value, that loser wins instead: a value that happened is never dropped for an error.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "weft/detail/fan_out.hpp"
#include "weft/task.hpp"

namespace weft {

/// A task of a range when_any or first_success that ended with a value: its position and its value.
template <class T>
struct finished_task {
  std::size_t index;
  T value;
};
template <>
struct finished_task<void> {
  std::size_t index;
};

/// The winner of a range when_any or first_success: its position and its value, and the losers whose
/// outcome happened anyway (see any_variant::also_finished).
template <class T>
struct any_result : finished_task<T> {
  std::vector<finished_task<T>> also_finished;
};

namespace detail {
template <class T>
finished_task<T> take_finished(std::vector<task<T>>& tasks, std::size_t i) {
  if constexpr (std::is_void_v<T>) {
    tasks[i].handle().promise().take();
    return {i};
  } else {
    return {i, tasks[i].handle().promise().take()};
  }
}

template <class T, fan_mode Mode>
any_result<T> take_winner(fan_range<Mode, T>& fan) {
  std::vector<finished_task<T>> also;
  fan.fan().for_each_finished_anyway([&](std::size_t i) { also.push_back(take_finished(fan.tasks(), i)); });
  // take_finished rethrows if the winner threw.
  return {take_finished(fan.tasks(), static_cast<std::size_t>(fan.chosen())), std::move(also)};
}
}  // namespace detail

template <class... T>
task<any_variant<T...>> when_any(task<T>... tasks) {
  static_assert(sizeof...(T) > 0, "when_any needs at least one task");
  co_return co_await detail::fan_tuple<detail::fan_mode::any, T...>(std::move(tasks)...);
}

/// Throws std::invalid_argument for an empty vector: there would be no winner.
template <class T>
task<any_result<T>> when_any(std::vector<task<T>> tasks) {
  if (tasks.empty()) throw std::invalid_argument("weft::when_any: no tasks");
  detail::fan_range<detail::fan_mode::any, T> fan(std::move(tasks));
  co_await fan;
  co_return detail::take_winner(fan);
}

}  // namespace weft
