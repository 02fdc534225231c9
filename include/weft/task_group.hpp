// task_group: structured concurrency. Tasks spawned into a group cannot outlive it.
//
//     weft::task<void> crawl(std::vector<std::string> urls) {
//       weft::task_group group;
//       for (auto& url : urls) group.spawn([url]() -> weft::task<void> { co_await fetch(url); });
//       co_await group.join();   // all done; the first exception (if any) is rethrown here
//     }
//
// Failure policy: by default (`fail_fast`) the first task to throw cancels the others, and join()
// rethrows that first exception once every task has finished. With `collect_all`, failures cancel
// nothing and join() throws an aggregate_error holding all of them.
//
// Cancellation: join() links the group under the joining task, so cancelling that task cancels every
// task in the group; join() still waits for all of them to finish. `cancel()` cancels the group directly.
//
// Leaving the group's scope without join() — an exception thrown between the spawns and the join, or a
// forgotten join — never lets a child outlive the scope (its captures may refer to the scope's locals):
// the destructor cancels the children and runs the loop until they have finished, then the scope's
// locals go. A child that ignores cancellation therefore holds the destructor up until it ends. A
// forgotten join (no exception in flight) is reported to `runtime_options::on_unhandled_exception` as a
// std::logic_error, and so is each failure of a child that nobody joined. Only at runtime shutdown,
// when every frame is destroyed anyway, are the children destroyed instead.
//
// While the destructor waits, the loop runs its other ready tasks too, inside the task that left the
// scope: as if that task had awaited join().
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/aggregate_error.hpp"
#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/detail/spawn_state.hpp"
#include "weft/spawn.hpp"

namespace weft {

class task_group;

namespace detail {
void group_child_started(task_group* g, spawn_state_base* s) noexcept;
std::coroutine_handle<> group_child_done(task_group* g, spawn_state_base* s) noexcept;
/// The context the group's joiner waits under (so its trace id and name are the joiner's).
context* group_joiner_context(task_group* g) noexcept;
}  // namespace detail

class task_group {
 public:
  enum class policy { fail_fast, collect_all };

  explicit task_group(policy p = policy::fail_fast) noexcept : policy_(p) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group();

  /// Starts `f` (a task, or a callable returning one) in the group. The handle may be awaited for the
  /// task's own value; dropping it does not detach the task from the group.
  template <class F>
  join_handle<detail::spawn_value_t<F>> spawn(F&& f) {
    return detail::spawn_on(detail::require_worker(), {}, this, std::forward<F>(f), false, true);
  }
  template <class F>
  join_handle<detail::spawn_value_t<F>> spawn(std::string_view name, F&& f) {
    return detail::spawn_on(detail::require_worker(), name, this, std::forward<F>(f), false, true);
  }

  struct join_awaiter {
    task_group* g;
    bool await_ready() const noexcept { return g->running_ == 0; }
    template <detail::weft_promise P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
      g->suspend_joiner(h, h.promise().ctx);
    }
    void await_resume() const { g->finish_join(); }
  };

  /// Waits until every task in the group has finished. Rethrows per the group's policy (see above);
  /// the failures are then cleared. A group can be reused unless it was cancelled (by cancel(), by a
  /// fail-fast failure, or through a cancelled joiner): cancellation sticks, and tasks spawned into a
  /// cancelled group start cancelled.
  [[nodiscard]] join_awaiter join() noexcept { return join_awaiter{this}; }

  /// Cancels every task in the group, now and spawned later, until the group is destroyed.
  void cancel() noexcept { ctx_.cancel(); }

  /// Tasks in the group that have not finished.
  std::size_t running() const noexcept { return running_; }

 private:
  friend void detail::group_child_started(task_group*, detail::spawn_state_base*) noexcept;
  friend std::coroutine_handle<> detail::group_child_done(task_group*, detail::spawn_state_base*) noexcept;
  friend detail::context* detail::group_joiner_context(task_group*) noexcept;

  void suspend_joiner(std::coroutine_handle<> h, detail::context* ctx) noexcept;
  void finish_join();

  detail::context ctx_;
  std::vector<std::exception_ptr> failures_;
  std::coroutine_handle<> joiner_;
  std::size_t running_ = 0;
  policy policy_;
};

}  // namespace weft
