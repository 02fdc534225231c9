// when_all: run tasks concurrently and wait for all of them (JavaScript's Promise.all).
//
//     auto [user, feed] = co_await weft::when_all(load_user(id), load_feed(id));
//
//     std::vector<weft::task<int>> jobs = ...;
//     std::vector<int> sizes = co_await weft::when_all(std::move(jobs));
//
// Returns the values in argument order (`std::monostate` stands for `void`). If a task throws, the
// others are cancelled, and once all have finished the first exception is rethrown. An error held in
// a `result<T>` is a value, not a failure: it cancels nothing. Cancelling the awaiting task cancels
// every child; when_all still waits for all of them before it returns.
#pragma once

#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/fan_out.hpp"
#include "weft/task.hpp"

namespace weft {

template <class... T>
task<std::tuple<detail::non_void_t<T>...>> when_all(task<T>... tasks) {
  co_return co_await detail::fan_tuple<detail::fan_mode::all, T...>(std::move(tasks)...);
}

template <class T>
task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(std::vector<task<T>> tasks) {
  detail::fan_range<detail::fan_mode::all, T> fan(std::move(tasks));
  co_await fan;
  if (fan.chosen() >= 0) {
    fan.tasks()[static_cast<std::size_t>(fan.chosen())].handle().promise().take();
  }
  if constexpr (std::is_void_v<T>) {
    co_return;
  } else {
    std::vector<T> values;
    values.reserve(fan.tasks().size());
    for (auto& t : fan.tasks()) values.push_back(t.handle().promise().take());
    co_return values;
  }
}

}  // namespace weft
