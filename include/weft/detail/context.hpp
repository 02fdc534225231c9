// The cancellation tree.
//
// Every running task has a `context`: a spawned task owns a root one; a child of a combinator, of a
// `timeout` or of a `task_group` gets a node linked under its parent's. Cancelling a node sets its flag,
// cuts short the one await point suspended on it (its `cancel_waiter`), and recurses into its children.
//
// Protocol (one loop owns a tree; everything here runs on that loop's thread, except that another
// thread may set a root's flag with `request_cancel` before its task first runs):
// - A leaf await point checks `cut_if_cancelled()` before it suspends; if set, it completes at once
//   with `errc::operation_canceled`. Otherwise it `arm`s itself, and `disarm`s when it completes normally.
// - `on_cancel` must not resume the coroutine inline: it releases what the await holds (a timer, an I/O
//   registration) and schedules the coroutine on the run queue. Cancellation therefore never re-enters
//   the code that called `cancel()`.
// - A node unlinks itself from its parent when destroyed; children are destroyed before their parent
//   (they live in frames that the parent's task owns).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

/// A suspended await point that can be cut short. `on_cancel` returns true if it cut the await short
/// (it will complete with `errc::operation_canceled`), false if its outcome had already happened (a
/// value handed over, a job running to its end) or it waits on regardless (a join).
struct cancel_waiter {
  bool (*on_cancel)(cancel_waiter* self) noexcept = nullptr;
};

class context {
 public:
  context() noexcept = default;
  context(const context&) = delete;
  context& operator=(const context&) = delete;
  ~context() { detach(); }

  /// Links this node under `parent` (which may be null), inheriting its cancellation and its name.
  void attach(context* parent) noexcept;
  /// Unlinks this node from its parent; its children stay linked to it.
  void detach() noexcept;

  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
  /// The flag, read seq_cst: for the one place where another thread's set_cancelled must be seen or
  /// must see us (worker::start_fresh, against spawn_request_cancel).
  bool cancelled_seq_cst() const noexcept { return cancelled_.load(std::memory_order_seq_cst); }
  /// Cancels this node and every node below it. Idempotent. Returns true if it cut short an await
  /// point (see cancel_waiter): false means that whatever is below was already on its way to an outcome
  /// of its own, which `timeout` then returns rather than `timed_out`.
  bool cancel() noexcept;
  /// At an await point, before it suspends: whether the task is cancelled. If it is, the await is cut
  /// short (it completes with `errc::operation_canceled`), and the nodes that were cancelled learn it
  /// (note_late_cut): a task cancelled before it reached the await, on another loop or before it
  /// started, is as cut as one woken from it.
  bool cut_if_cancelled() noexcept {
    if (!cancelled()) return false;
    note_late_cut();
    return true;
  }
  /// Whether a cancel of this node cut an await point short: at the time (cancel() returned true), or
  /// later (note_late_cut). What `timeout` and `when_any` read once the child has ended.
  bool was_cut() const noexcept { return cut_; }
  /// A cancel that reached this node cut something short after cancel() returned: a joined task on
  /// another loop, whose cancel is posted there and decides there. Marks this node and every ancestor
  /// that is cancelled too (the cut belongs to their cancel as well), up to the first that is not.
  void note_late_cut() noexcept;
  /// Only sets the flag (from any thread): for a task that has not started, so has nothing to cut short.
  void set_cancelled() noexcept { cancelled_.store(true, std::memory_order_seq_cst); }

  void arm(cancel_waiter* w) noexcept { waiter_ = w; }
  void disarm() noexcept { waiter_ = nullptr; }

  std::string_view name() const noexcept { return name_; }
  void set_name(std::string_view name) noexcept { name_ = name; }
  /// The task's id in the runtime's trace (0: not traced); a node attached below inherits it.
  std::uint64_t trace_id() const noexcept { return trace_id_; }
  void set_trace_id(std::uint64_t id) noexcept { trace_id_ = id; }
  /// The trace's note of what woke this node's coroutine (a trace::wake_source) and the wake's arrow id
  /// (0: none): written by the waker, read by the loop when it resumes the coroutine (the queue
  /// hand-off orders the two).
  void note_wake(std::uint8_t source, std::uint32_t arrow) noexcept {
    woken_by_ = source;
    wake_seq_ = arrow;
  }
  std::uint8_t woken_by() const noexcept { return woken_by_; }
  std::uint32_t wake_seq() const noexcept { return wake_seq_; }
  void clear_wake() noexcept { woken_by_ = 0; }

 private:
  context* parent_ = nullptr;
  context* first_child_ = nullptr;
  context* next_ = nullptr;
  context* prev_ = nullptr;
  cancel_waiter* waiter_ = nullptr;
  std::string_view name_;
  std::uint64_t trace_id_ = 0;
  weft::detail::atomic<bool> cancelled_{false};
  bool cut_ = false;
  std::uint8_t woken_by_ = 0;
  std::uint32_t wake_seq_ = 0;
};

}  // namespace weft::detail
