// runtime: the event loop that runs weft's tasks.
//
// A runtime is one loop on the thread that calls `block_on`: it takes one ready task at a time and runs
// it until that task awaits (the seed's "one event at a time"), then waits on epoll for I/O, timers and
// work posted from other threads.
//
//     int main() {
//       return weft::run(async_main());        // a runtime for the length of async_main()
//     }
//
//     weft::runtime rt({.start_paused = true});  // tests: virtual time that jumps when the loop is idle
//     rt.block_on(scenario());
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "weft/detail/unique_function.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

struct runtime_options {
  /// Virtual time: the clock starts paused and, whenever no task is ready to run, jumps straight to the
  /// next timer. Sleeps cost no real time and orders are exact: the manual clock for tests and replays.
  bool start_paused = false;

  /// Called with the task's name and the exception when an exception escapes a task that nobody will
  /// join (a detached task). Default: print both to stderr; the runtime keeps running either way.
  std::function<void(std::string_view task_name, std::exception_ptr error)> on_unhandled_exception;

  /// When positive, every turn of a task that holds the loop for longer than this is reported to
  /// `on_slow_task` (default: printed to stderr). Costs two clock reads and a copy of the task's
  /// name per resume when on.
  std::chrono::nanoseconds slow_task_threshold{0};
  std::function<void(std::string_view task_name, std::chrono::nanoseconds held)> on_slow_task;
};

namespace detail {
struct worker_deleter {
  void operator()(worker* w) const noexcept;
};
void run_until_done(worker* w, spawn_state_base* root);
}  // namespace detail

class runtime {
 public:
  runtime();
  explicit runtime(runtime_options options);
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  /// Destroys every task that has not finished (their frames, timers and registrations are released).
  ~runtime();

  /// Runs the loop on this thread until `t` finishes; returns its value or rethrows its exception.
  /// Tasks spawned meanwhile keep their state and go on at the next `block_on`.
  template <class T>
  T block_on(task<T> t) {
    join_handle<T> h = detail::spawn_on(worker_.get(), "main", nullptr, std::move(t));
    detail::run_until_done(worker_.get(), handle_state(h));
    return take(std::move(h));
  }

  /// Starts a task on this runtime; it runs once the loop runs (in `block_on`). See weft::spawn.
  template <class F>
  join_handle<detail::spawn_value_t<F>> spawn(F&& f) {
    return detail::spawn_on(worker_.get(), {}, nullptr, std::forward<F>(f));
  }

  /// Queues `fn` to run on the loop's thread, between tasks. Safe to call from any thread.
  void post(detail::unique_function fn);

  /// Spawned tasks that have not finished yet.
  std::size_t live_tasks() const noexcept;

 private:
  template <class T>
  static detail::spawn_state_base* handle_state(join_handle<T>& h) noexcept {
    return h.s_;
  }
  template <class T>
  static T take(join_handle<T> h);

  std::unique_ptr<detail::worker, detail::worker_deleter> worker_;
};

template <class T>
T runtime::take(join_handle<T> h) {
  detail::spawn_state_base* s = handle_state(h);
  s->outcome_seen = true;
  return static_cast<detail::task_promise<T>*>(s->promise)->take();
}

/// Runs `t` on a new runtime on this thread and returns its value: the usual body of `main`.
template <class T>
T run(task<T> t, runtime_options options = {}) {
  runtime rt(std::move(options));
  return rt.block_on(std::move(t));
}

}  // namespace weft
