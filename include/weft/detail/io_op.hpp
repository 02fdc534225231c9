// One I/O operation on a registered descriptor, as the reactor sees it.
//
// Protocol (all on the owning loop's thread):
// - `io_start` first tries the operation (`attempt`, a non-blocking system call). If it completes — with a
//   value or an error — the awaiting coroutine does not suspend at all.
// - Otherwise the op parks on its descriptor (one reader and one writer at a time), arms the task's
//   cancellation context and, if it has a deadline, a timer. Descriptors are registered edge-triggered
//   once, so every readiness edge after the failed attempt reaches the reactor, which calls `attempt`
//   again and, once it completes, schedules the coroutine. User code never runs inside the reactor.
// - Cancellation and the deadline unpark the op and complete it with `operation_canceled` / `timed_out`.
//   A stall deadline (`stall_ns`) is checked lazily: each progress notes the loop's (cached) time, and
//   when the deadline falls due it moves to the last progress plus the limit, if that is still ahead.
//   So a write that moves is never timed out, one that stops fails one limit after its last byte, and
//   no timer is re-filed per send.
// - An op destroyed while parked (its frame destroyed at runtime shutdown) unparks itself.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "weft/detail/context.hpp"
#include "weft/detail/timer_entry.hpp"

namespace weft::detail {

struct io_state;
struct io_op;

/// Performs the operation once. Returns false if it would block; otherwise sets `value`/`error`.
using io_attempt = bool (*)(io_op* op) noexcept;

enum class io_dir : std::uint8_t { read = 0, write = 1 };

struct io_op : cancel_waiter, timer_entry {
  io_op(io_state* state, io_dir d, io_attempt a) noexcept : io(state), attempt(a), dir(d) {}
  io_op(const io_op&) = delete;
  io_op& operator=(const io_op&) = delete;
  ~io_op();

  io_state* io;
  io_attempt attempt;
  std::coroutine_handle<> waiting;
  context* ctx = nullptr;
  std::int64_t deadline_ns = 0;  // on weft::clock; 0: none
  /// Non-zero: the deadline is a stall limit (ns): when it falls due, an op that made progress since
  /// gets until its last progress plus the limit instead of failing. For writes that may take long but
  /// must move.
  std::int64_t stall_ns = 0;
  std::int64_t progressed_ns = 0;  // the loop's time at the op's last progress (stall limits only)
  std::size_t value = 0;
  std::error_code error;
  io_dir dir;
};

/// Starts `op` for the coroutine `h` running in `ctx`. Returns true if `h` must suspend.
bool io_start(io_op* op, std::coroutine_handle<> h, context* ctx) noexcept;

}  // namespace weft::detail
