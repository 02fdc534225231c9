// first_success: run tasks concurrently; the first to succeed wins (JavaScript's Promise.any).
//
//     // try three mirrors, keep the first good answer
//     auto best = co_await weft::first_success(std::move(mirror_requests));
//
// A task fails by throwing, or by returning a `result<T>` that holds an error. The first success wins;
// the others are cancelled and awaited before first_success returns. If every task fails, it throws
// weft::aggregate_error with each failure (error results as std::system_error), in argument order.
// Losers that still ended with a value come back in `also_finished`, as with when_any.
#pragma once

#include <variant>
#include <vector>

#include "weft/detail/fan_out.hpp"
#include "weft/task.hpp"
#include "weft/when_any.hpp"

namespace weft {

template <class... T>
task<any_variant<T...>> first_success(task<T>... tasks) {
  static_assert(sizeof...(T) > 0, "first_success needs at least one task");
  co_return co_await detail::fan_tuple<detail::fan_mode::first_success, T...>(std::move(tasks)...);
}

template <class T>
task<any_result<T>> first_success(std::vector<task<T>> tasks) {
  detail::fan_range<detail::fan_mode::first_success, T> fan(std::move(tasks));
  co_await fan;
  if (fan.chosen() < 0) detail::throw_all_failed(fan.fan());
  co_return detail::take_winner(fan);
}

}  // namespace weft
