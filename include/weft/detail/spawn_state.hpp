// The control block of a spawned task.
//
// A spawn_state owns the task's root coroutine frame (and, for `spawn(callable)`, the callable, so the
// coroutine's captures live exactly as long as the coroutine). Two references keep it alive: the running
// task's and the join_handle's. The outcome stays in the root frame's promise until the last reference
// goes, which then destroys frame and state together.
//
// Lifecycle:
//   spawn_start -> [queued, runs, suspends, ...] -> spawn_done (on_done hook of the root frame)
//   spawn_done drops the task's reference; a detached task's state is freed by the loop right after the
//   resume that completed it (never inside the frame's own final_suspend).
//   At runtime shutdown, unfinished tasks have their frames destroyed and are marked abandoned.
//
// Threads (runtimes with several workers, `shared` states): a task that has not started yet may be
// stolen by another worker; from its first resume to its end it stays on one worker (`home`), so its
// timers, sockets and cancellation tree are touched by one thread only. What other threads touch is
// atomic: `refs`, `status`, `started`, and `sync`, the handshake between the task finishing and a
// joiner or the handle's owner letting go (whichever comes second acts: see src/runtime/spawn.cpp).
// A single-loop runtime's states are not shared and take the plain paths.
#pragma once

#include <atomic>
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

/// Bits of spawn_state_base::sync.
inline constexpr std::uint8_t sync_done = 1;          // the task finished (spawn_done ran)
inline constexpr std::uint8_t sync_joiner = 2;        // a joiner is parked (joiner fields are set)
inline constexpr std::uint8_t sync_handle_gone = 4;   // the join_handle was dropped
inline constexpr std::uint8_t sync_external = 8;      // a thread outside the runtime waits (block_on)

struct spawn_state_base {
  spawn_state_base() noexcept = default;
  spawn_state_base(const spawn_state_base&) = delete;
  spawn_state_base& operator=(const spawn_state_base&) = delete;
  virtual ~spawn_state_base() = default;
  /// Destroys the root frame before its end (runtime shutdown).
  virtual void drop_frame() noexcept = 0;

  task_status load_status() const noexcept { return status.load(std::memory_order_acquire); }

  context ctx;
  std::coroutine_handle<> frame;
  promise_base* promise = nullptr;
  std::atomic<worker*> home{nullptr};  // where it runs (or, before it starts, where it is queued)
  spawn_state_base* live_prev = nullptr;
  spawn_state_base* live_next = nullptr;  // also the link while queued in an injection queue
  std::coroutine_handle<> joiner;
  context* joiner_ctx = nullptr;
  worker* joiner_home = nullptr;
  task_group* group = nullptr;
  std::unique_ptr<char[]> name;  // only for named tasks: 8 bytes, not a std::string's 32
  std::atomic<std::uint32_t> refs{2};
  std::atomic<task_status> status{task_status::running};
  std::atomic<std::uint8_t> sync{0};
  std::atomic<bool> started{false};
  bool shared = false;  // spawned on a runtime with several workers
  bool handle_alive = true;
  bool outcome_seen = false;
};

/// Drops one reference; true if it was the last. Shared states count atomically.
inline bool spawn_unref(spawn_state_base* s) noexcept {
  if (s->shared) return s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1;
  std::uint32_t r = s->refs.load(std::memory_order_relaxed) - 1;  // one thread: no locked instruction
  s->refs.store(r, std::memory_order_relaxed);
  return r == 0;
}

/// Registers the state with `w`, wires the root frame's promise to it and queues the frame. `pinned`:
/// it runs on `w` and is never stolen (queued there from any thread).
void spawn_start(worker* w, spawn_state_base* s, std::coroutine_handle<> frame, promise_base& p,
                 std::string_view name, task_group* group, bool pinned = false);
/// The join_handle was dropped: the task goes on, detached.
void spawn_release_handle(spawn_state_base* s) noexcept;
/// The part of a join_handle's awaiter that the runtime touches.
struct join_waiter : cancel_waiter {
  spawn_state_base* s = nullptr;
  std::coroutine_handle<> waiting;
  context* ctx = nullptr;  // the joiner's
};
/// Parks `w->waiting` until the task finishes; cancellation of the joiner cancels the task.
/// Returns false if the task finished meanwhile (the joiner goes on without suspending).
bool spawn_join_suspend(join_waiter* w, context* joiner_ctx) noexcept;
/// The joiner resumed: forget its cancellation hook.
void spawn_join_resumed(join_waiter* w) noexcept;
/// join_handle::cancel(): cancels the task from any thread.
void spawn_request_cancel(spawn_state_base* s) noexcept;
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
