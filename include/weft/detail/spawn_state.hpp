// The control block of a spawned task.
//
// A spawn_state owns the task's root coroutine frame (and, for `spawn(callable)`, the callable, so the
// coroutine's captures live exactly as long as the coroutine). Two references keep it alive: the running
// task's and the join_handle's. The outcome stays in the root frame's promise until the last reference
// goes, which then destroys frame and state together.
//
// Lifecycle, all on the owning loop's thread:
//   spawn_start -> [queued, runs, suspends, ...] -> spawn_done (on_done hook of the root frame)
//   spawn_done drops the task's reference; a detached task's state is freed by the loop right after the
//   resume that completed it (never inside the frame's own final_suspend).
//   At runtime shutdown, unfinished tasks have their frames destroyed and are marked abandoned.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <string_view>

#include "weft/detail/context.hpp"
#include "weft/detail/frame_alloc.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/task.hpp"

namespace weft {
class task_group;
}

namespace weft::detail {

class worker;

/// The loop running on this thread, or null outside a runtime.
worker* current_worker() noexcept;
/// Queues `h` to be resumed on the current loop (which must exist).
void schedule(std::coroutine_handle<> h, context* ctx) noexcept;

enum class task_status : std::uint8_t { running, done, abandoned };

struct spawn_state_base {
  spawn_state_base() noexcept = default;
  spawn_state_base(const spawn_state_base&) = delete;
  spawn_state_base& operator=(const spawn_state_base&) = delete;
  virtual ~spawn_state_base() = default;
  /// Destroys the root frame before its end (runtime shutdown).
  virtual void drop_frame() noexcept = 0;

  context ctx;
  std::coroutine_handle<> frame;
  promise_base* promise = nullptr;
  worker* home = nullptr;
  spawn_state_base* live_prev = nullptr;
  spawn_state_base* live_next = nullptr;
  std::coroutine_handle<> joiner;
  context* joiner_ctx = nullptr;
  task_group* group = nullptr;
  std::unique_ptr<char[]> name;  // only for named tasks: 8 bytes, not a std::string's 32
  std::uint32_t refs = 2;
  task_status status = task_status::running;
  bool handle_alive = true;
  bool outcome_seen = false;
};

/// Registers the state with `w`, wires the root frame's promise to it and queues the frame.
void spawn_start(worker* w, spawn_state_base* s, std::coroutine_handle<> frame, promise_base& p,
                 std::string_view name, task_group* group);
/// The join_handle was dropped: the task goes on, detached.
void spawn_release_handle(spawn_state_base* s) noexcept;
/// The part of a join_handle's awaiter that the runtime touches.
struct join_waiter : cancel_waiter {
  spawn_state_base* s = nullptr;
  std::coroutine_handle<> waiting;
};
/// Suspends `w->waiting` until the task finishes; cancellation of the joiner cancels the task.
void spawn_join_suspend(join_waiter* w, context* joiner_ctx) noexcept;
/// Called from a join awaiter's destructor: forget a joiner that no longer waits.
void spawn_join_abandon(join_waiter* w) noexcept;
/// Throws the error that awaiting an abandoned task gives.
[[noreturn]] void throw_abandoned();

/// spawn(task<T>): the state holds the task.
template <class T>
struct task_spawn_state final : spawn_state_base, frame_allocated {
  explicit task_spawn_state(task<T> tk) : t(std::move(tk)) {}
  void drop_frame() noexcept override { t = task<T>(); }
  task<T> t;
};

/// spawn(callable): the state holds the callable first, then the task it returned.
template <class T, class F>
struct callable_spawn_state final : spawn_state_base, frame_allocated {
  explicit callable_spawn_state(F&& f) : fn(std::move(f)), t(fn()) {}
  void drop_frame() noexcept override { t = task<T>(); }
  F fn;
  task<T> t;
};

}  // namespace weft::detail
