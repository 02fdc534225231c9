// spawn and join_handle: running a task concurrently with the one that started it.
//
//     weft::task<int> fetch_count();
//
//     weft::task<void> main_task() {
//       weft::join_handle<int> h = weft::spawn(fetch_count());   // starts on the next loop turn
//       // ... other work, interleaved with fetch_count ...
//       int n = co_await std::move(h);                          // its value, or its exception rethrown
//     }
//
// `spawn(callable)` calls the callable inside the task's own state and keeps it there until the task
// ends, so a lambda coroutine's captures stay alive as long as the coroutine runs:
//
//     std::string url = ...;
//     weft::spawn([url] () -> weft::task<void> { co_await get(url); });   // safe: `url` lives in the task
//
// Dropping a join_handle detaches the task: it runs to completion on its own, and an exception that
// escapes it goes to `runtime_options::on_unhandled_exception`.
#pragma once

#include <coroutine>
#include <exception>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/spawn_state.hpp"
#include "weft/error.hpp"
#include "weft/task.hpp"

namespace weft {

class runtime;

/// The handle to a spawned task: await it for the task's outcome, `cancel()` it, or drop it to detach.
template <class T>
class join_handle {
 public:
  join_handle() noexcept = default;
  explicit join_handle(detail::spawn_state_base* s) noexcept : s_(s) {}
  join_handle(join_handle&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  join_handle& operator=(join_handle&& o) noexcept {
    if (this != &o) {
      detach();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  ~join_handle() { detach(); }

  /// False for a default-constructed, moved-from or detached handle.
  bool valid() const noexcept { return s_ != nullptr; }
  /// True once the task has finished (with a value or an exception).
  bool done() const noexcept { return s_ != nullptr && s_->load_status() != detail::task_status::running; }

  /// Requests cancellation: the task's current and future await points complete with
  /// `errc::operation_canceled`. The task still runs to its end; await the handle to wait for that.
  void cancel() noexcept {
    if (s_ != nullptr) detail::spawn_request_cancel(s_);
  }

  /// Lets the task run on without a handle; the same as dropping the handle.
  void detach() noexcept {
    if (s_ != nullptr) detail::spawn_release_handle(std::exchange(s_, nullptr));
  }

  struct awaiter : detail::join_waiter {
    explicit awaiter(detail::spawn_state_base* state) noexcept { s = state; }
    awaiter(awaiter&&) = delete;

    bool await_ready() const noexcept { return s->load_status() != detail::task_status::running; }
    template <detail::weft_promise P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      waiting = h;
      return detail::spawn_join_suspend(this, h.promise().ctx);
    }
    T await_resume() {
      if (waiting && s->shared) detail::spawn_join_resumed(this);  // one loop: spawn_done disarmed it
      waiting = {};  // resumed: nothing for the destructor to undo
      if (s->load_status() == detail::task_status::abandoned) detail::throw_abandoned();
      s->outcome_seen = true;
      return static_cast<detail::task_promise<T>*>(s->promise)->take();
    }
    ~awaiter() {
      if (waiting) detail::spawn_join_abandon(this);
    }
  };

  /// Waits for the task to finish and returns its value, or rethrows its exception.
  ///
  /// Cancellation: if the awaiting task is cancelled while it waits, the awaited task is cancelled too,
  /// and the await still waits for it to finish and returns its outcome.
  awaiter operator co_await() && noexcept { return awaiter(s_); }

 private:
  friend class runtime;
  detail::spawn_state_base* s_ = nullptr;
};

namespace detail {

template <class F>
struct spawn_traits;

template <class T>
struct spawn_traits<task<T>> {
  using value_type = T;
};

template <class F>
  requires std::is_invocable_v<F&>
struct spawn_traits<F> {
  using task_type = std::invoke_result_t<F&>;
  static_assert(is_task_v<task_type>, "spawn(callable): the callable must return weft::task<T>");
  using value_type = typename task_type::value_type;
};

template <class F>
using spawn_value_t = typename spawn_traits<std::decay_t<F>>::value_type;

/// Spawns on loop `w`; `group` is the owning task_group or null; `pinned`: never stolen from `w`;
/// `here`: called on `w`'s own thread (see spawn_start).
template <class F>
join_handle<spawn_value_t<F>> spawn_on(worker* w, std::string_view name, task_group* group, F&& f,
                                       bool pinned = false, bool here = false) {
  using T = spawn_value_t<F>;
  spawn_state_base* s;
  std::coroutine_handle<task_promise<T>> frame;
  if constexpr (is_task_v<std::decay_t<F>>) {
    auto* st = new task_spawn_state<T>(std::forward<F>(f));
    frame = st->t.handle();
    s = st;
  } else {
    auto* st = new callable_spawn_state<T, std::decay_t<F>>(std::decay_t<F>(std::forward<F>(f)));
    frame = st->t.handle();
    s = st;
  }
  spawn_start(w, s, frame, frame.promise(), name, group, pinned, here);
  return join_handle<T>(s);
}

/// The current loop, or throws std::system_error(errc::not_in_runtime).
worker* require_worker();

}  // namespace detail

/// Starts `f` (a `task<T>`, or a callable returning one) as a new task on the current runtime.
/// It first runs on a later turn of the loop, never inside this call.
/// Throws std::system_error(errc::not_in_runtime) outside a runtime.
template <class F>
[[nodiscard("drop the handle with .detach() to run the task detached")]] join_handle<detail::spawn_value_t<F>> spawn(
    F&& f) {
  return detail::spawn_on(detail::require_worker(), {}, nullptr, std::forward<F>(f), false, true);
}

/// Awaits every handle in `handles`, in order, even after one of them rethrew: none of the tasks is
/// left running (detached) behind the caller, which matters when they refer to the caller's locals.
/// Then rethrows the first exception, if any. Tasks spread over workers, unlike a task_group's.
///
///     std::vector<weft::join_handle<void>> workers;
///     for (int i = 0; i < n; ++i) workers.push_back(weft::spawn(work(state)));
///     co_await weft::join_all(workers);   // `state` may go once this returns, or throws
template <class T>
task<void> join_all(std::vector<join_handle<T>>& handles) {
  std::exception_ptr first;
  for (auto& h : handles) {
    if (!h.valid()) continue;
    try {
      (void)co_await std::move(h);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

/// As `spawn(f)`, naming the task; the name appears in error reports and slow-task reports.
template <class F>
[[nodiscard("drop the handle with .detach() to run the task detached")]] join_handle<detail::spawn_value_t<F>> spawn(
    std::string_view name, F&& f) {
  return detail::spawn_on(detail::require_worker(), name, nullptr, std::forward<F>(f), false, true);
}

}  // namespace weft
