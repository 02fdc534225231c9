// The control block of a spawned task.
//
// A spawn_state owns the task's root coroutine frame (and, for `spawn(callable)`, the callable, so the
// coroutine's captures live exactly as long as the coroutine). Two references keep it alive: the running
// task's and the join_handle's. The outcome stays in the root frame's promise until the last reference
// goes, which then destroys frame and state together.
//
// Lifecycle:
//   spawn_start -> [queued, runs, suspends, ...] -> spawn_done (on_done hook of the root frame)
//   spawn_done hands a shared state's task reference to its loop, which drops it right after the
//   resume that completed the task (never inside the frame's own final_suspend, where the frame is
//   still in use: with the reference gone, a handle on another thread could free the frame
//   mid-suspension). A one-loop state drops it in spawn_done: its handle is on the same thread.
//   At runtime shutdown, unfinished tasks have their frames destroyed and are marked abandoned.
//
// Threads (runtimes with several workers, `shared` states): a task that has not started yet may be
// stolen by another worker; from its first resume to its end it stays on one worker (`home`), so its
// timers, sockets and cancellation tree are touched by one thread only. What other threads touch is
// atomic: `status`, `started`, and `word`, which holds the reference count and the handshake bits
// between the task finishing and a joiner or the handle's owner letting go (whichever comes second
// acts: see src/runtime/spawn.cpp). One word, so that finishing and letting go cost one atomic
// read-modify-write each.
// A single-loop runtime's states are not shared and take the plain paths.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <string_view>

#include "weft/detail/atomic.hpp"
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

/// spawn_state_base::word: handshake bits below, the reference count above (in units of ref_one).
inline constexpr std::uint32_t sync_done = 1;          // the task finished (spawn_done ran)
inline constexpr std::uint32_t sync_joiner = 2;        // a joiner is parked (joiner fields are set)
inline constexpr std::uint32_t sync_handle_gone = 4;   // the join_handle was dropped
inline constexpr std::uint32_t sync_external = 8;      // a thread outside the runtime waits (block_on)
inline constexpr std::uint32_t ref_one = 16;
inline constexpr std::uint32_t refs_of(std::uint32_t word) noexcept { return word / ref_one; }

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
  weft::detail::atomic<worker*> home{nullptr};  // where it runs (or, before it starts, where it is queued)
  spawn_state_base* live_prev = nullptr;
  spawn_state_base* live_next = nullptr;  // also the link while queued in an injection queue
  std::coroutine_handle<> joiner;
  context* joiner_ctx = nullptr;
  worker* joiner_home = nullptr;
  task_group* group = nullptr;
  std::unique_ptr<char[]> name;  // only for named tasks: 8 bytes, not a std::string's 32
  weft::detail::atomic<std::uint32_t> word{2 * ref_one};  // two references: the task's and the handle's
  weft::detail::atomic<task_status> status{task_status::running};
  weft::detail::atomic<bool> started{false};
  bool shared = false;  // spawned on a runtime with several workers
  bool handle_alive = true;
  bool outcome_seen = false;
};

/// Adds `delta` (wrapping: to subtract, add the two's complement) to the word and returns its old
/// value. Shared states do it atomically; a one-loop runtime's with a plain load and store.
inline std::uint32_t spawn_word_add(spawn_state_base* s, std::uint32_t delta) noexcept {
  if (s->shared) return s->word.fetch_add(delta, std::memory_order_acq_rel);
  std::uint32_t old = s->word.load(std::memory_order_relaxed);
  s->word.store(old + delta, std::memory_order_relaxed);
  return old;
}

/// Shared states: sets `bit`, and drops the caller's reference in the same instruction unless one of
/// `keep_if` is already set (then the caller goes on using the state and drops it with spawn_unref).
/// Returns the old word; the reference was dropped iff `(old & keep_if) == 0`. Dropping it only when
/// the caller is done with the state matters: another holder (a cancellation posted to the task's
/// loop) may free it the moment the count reaches zero.
inline std::uint32_t spawn_word_mark(spawn_state_base* s, std::uint32_t bit, std::uint32_t keep_if) noexcept {
  std::uint32_t old = s->word.load(std::memory_order_relaxed);
  for (;;) {
    std::uint32_t next = old | bit;
    if ((old & keep_if) == 0) next -= ref_one;
    if (s->word.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed)) return old;
  }
}

/// Drops one reference; true if it was the last.
inline bool spawn_unref(spawn_state_base* s) noexcept {
  return refs_of(spawn_word_add(s, 0u - ref_one)) == 1;
}

/// Registers the state with `w`, wires the root frame's promise to it and queues the frame. `pinned`:
/// it runs on `w` and is never stolen (queued there from any thread). `here`: the caller knows it runs
/// on `w`'s own thread (weft::spawn, from inside a task), which spares the thread lookup; false means
/// "any thread", and the lookup decides.
void spawn_start(worker* w, spawn_state_base* s, std::coroutine_handle<> frame, promise_base& p,
                 std::string_view name, task_group* group, bool pinned, bool here);
/// The join_handle was dropped: the task goes on, detached.
void spawn_release_handle(spawn_state_base* s) noexcept;
/// The part of a join_handle's awaiter that the runtime touches.
struct join_waiter : cancel_waiter {
  spawn_state_base* s = nullptr;
  std::coroutine_handle<> waiting;
  context* ctx = nullptr;  // the joiner's
};
/// Parks `w->waiting` until the task finishes; cancellation of the joiner cancels the task.
/// Returns what to resume now: `w->waiting` itself if the task finished meanwhile; the task, if it
/// has not started and was the loop's newest ready coroutine (the joiner would only wait for it, so
/// it runs at once, as an awaited task would); otherwise noop (the loop runs on).
std::coroutine_handle<> spawn_join_suspend(join_waiter* w, context* joiner_ctx) noexcept;
/// The joiner of a shared state resumed: forget its cancellation hook, and if the joiner's cancel cut
/// something short in the task (decided on the task's loop: see cancel_joined), say so to the joiner's
/// context, where `timeout` and `when_any` look. The handshake that woke the joiner orders the task's
/// loop's writes to `s->ctx` before this read.
inline void spawn_join_resumed(join_waiter* w) noexcept {
  if (w->ctx == nullptr) return;
  w->ctx->disarm();
  if (w->s->ctx.was_cut()) w->ctx->note_late_cut();
}
/// join_handle::cancel(): cancels the task from any thread.
/// Returns whether the cancel cut (or, posted to the task's loop or waiting for its first await, may
/// cut) an await point short; false once the task has finished (see context::cancel).
bool spawn_request_cancel(spawn_state_base* s) noexcept;
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
