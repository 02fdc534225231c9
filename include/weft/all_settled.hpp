// all_settled: run tasks concurrently, wait for all, and report each outcome (Promise.allSettled).
//
//     auto [a, b] = co_await weft::all_settled(might_throw(), other());
//     if (!a) log(a.error());   // a is tl::expected<T, std::exception_ptr>
//
// Nothing is cancelled when a task fails; every task runs to its end. Cancelling the awaiting task
// cancels every child, and all_settled still waits for all of them.
#pragma once

#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/fan_out.hpp"
#include "weft/task.hpp"

namespace weft {

/// One task's outcome: its value (`void` allowed), or the exception it threw.
template <class T>
using settled = detail::settled_t<T>;

template <class... T>
task<std::tuple<settled<T>...>> all_settled(task<T>... tasks) {
  co_return co_await detail::fan_tuple<detail::fan_mode::settled, T...>(std::move(tasks)...);
}

template <class T>
task<std::vector<settled<T>>> all_settled(std::vector<task<T>> tasks) {
  detail::fan_range<detail::fan_mode::settled, T> fan(std::move(tasks));
  co_await fan;
  std::vector<settled<T>> out;
  out.reserve(fan.tasks().size());
  for (auto& t : fan.tasks()) out.push_back(detail::take_settled(t));
  co_return out;
}

}  // namespace weft
