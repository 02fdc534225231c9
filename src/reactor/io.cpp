#include "reactor/io.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "reactor/reactor.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "weft/detail/coop.hpp"
#include "weft/error.hpp"

namespace weft::detail {
namespace {

void unpark(io_op* op) noexcept {
  io_op*& slot = op->io->parked[static_cast<int>(op->dir)];
  if (slot == op) slot = nullptr;  // (an op on its way between loops is not parked anywhere)
  op->ctx->disarm();
  if (op->linked()) current_worker()->disarm_timer(op);
}

void finish(io_op* op) noexcept {
  unpark(op);
  schedule(std::exchange(op->waiting, {}), op->ctx);
}

bool cut_short(cancel_waiter* w) noexcept {
  auto* op = static_cast<io_op*>(w);
  op->error = errc::operation_canceled;
  finish(op);
  return true;
}

}  // namespace

void reset_on_close(int fd) noexcept {
  linger reset{1, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

namespace {

/// For the trace: the task now waits for its descriptor to be readable or writable.
void note_waiting(const io_op* op) noexcept {
  note_suspend(op->dir == io_dir::write ? suspend_reason::writable : suspend_reason::readable);
}

void deadline_passed(timer_entry* e) noexcept {
  auto* op = static_cast<io_op*>(e);
  if (op->stall_ns != 0) {
    worker* w = current_worker();
    clock::time_point due = weft::deadline_after(clock::time_point(clock::duration(op->progressed_ns)), clock::duration(op->stall_ns));
    if (due > w->now()) {
      w->arm_timer(op, due);
      return;
    }
    reset_on_close(op->io->fd);
  }
  op->error = errc::timed_out;
  finish(op);
}

}  // namespace

io_op::~io_op() {
  if (waiting) unpark(this);
}

namespace {

/// The attempt would block: register `op->io` here if it is not yet, park `op`, arm cancellation and
/// the deadline. Returns false (with op->error set) if it cannot wait.
bool park(worker* w, io_op* op, std::coroutine_handle<> h, context* ctx) noexcept {
  io_state* io = op->io;
  io_op*& slot = io->parked[static_cast<int>(op->dir)];
  if (slot != nullptr) {
    op->error = errc::operation_in_progress;
    return false;
  }
  if (io->owner == nullptr) {
    // Edge-triggered: if the descriptor became ready since the attempt, adding it reports that edge.
    bool writes = op->dir == io_dir::write;
    if (std::error_code ec = w->io().add(io, writes)) {
      op->error = ec;
      return false;
    }
    io->owner = w;
    io->writes_watched = writes;
  }
  if (op->dir == io_dir::write && !io->writes_watched) {
    if (std::error_code ec = w->io().watch_writes(io)) {
      op->error = ec;
      return false;
    }
    io->writes_watched = true;
  }
  clock::time_point deadline{clock::duration(op->deadline_ns)};
  // A plain deadline already past fails here. A stall limit does not: its timer, armed below even if
  // due, decides in deadline_passed (progress since may extend it) and resets the connection when it
  // gives up. Failing here skipped the reset: a slow reader's socket, closed with a FIN behind megabytes
  // it would never read, lingered in FIN_WAIT1 for minutes (seen when a move between loops was slow).
  if (op->deadline_ns != 0 && op->stall_ns == 0 && deadline <= w->now()) {
    op->error = errc::timed_out;
    return false;
  }
  slot = op;
  op->waiting = h;
  op->ctx = ctx;
  note_waiting(op);
  op->on_cancel = &cut_short;
  ctx->arm(op);
  if (op->deadline_ns != 0) {
    op->fire = &deadline_passed;
    w->arm_timer(op, deadline);
  }
  return true;
}

/// Back on the op's own loop after a move: the descriptor left the other loop's reactor (`released`),
/// or stayed there because an op of that loop still waits on it. A close that came meanwhile was
/// held back (io_close): the op completes with `closed`, and the close happens now.
void move_done(io_op* op, bool released) noexcept {
  io_state* io = op->io;
  io->moving = false;
  std::coroutine_handle<> h = std::exchange(op->waiting, {});
  if (io->close_after_move) {
    op->error = errc::closed;
    op->io = nullptr;
    schedule(h, op->ctx);
    io_close(io);
    return;
  }
  if (!released) {
    op->error = errc::operation_in_progress;
    schedule(h, op->ctx);
  } else if (!io_start(op, h, op->ctx)) {
    schedule(h, op->ctx);
  }
}

/// `op->io` is registered with another worker's reactor. That loop alone may touch its registration,
/// so ask it to let go, then continue here. Sockets are used by one worker at a time: if an op of
/// that loop is still parked on it, this op fails with operation_in_progress.
///
/// The move and a close of the same descriptor would otherwise race: both were posted to the owner,
/// and whichever ran second found the registration, or the whole io_state, gone. So while the op is
/// on its way (`moving`), io_close only marks the descriptor, and the op closes it when it is back.
void move_registration(worker* here, io_op* op, std::coroutine_handle<> h, context* ctx) noexcept {
  op->waiting = h;
  op->ctx = ctx;
  op->io->moving = true;
  worker* there = op->io->owner;
  there->post([op, here, there] {
    io_state* io = op->io;
    if (io->parked[0] != nullptr || io->parked[1] != nullptr) {
      here->post([op] { move_done(op, false); });
      return;
    }
    there->io().remove(io);
    io->owner = nullptr;
    io->writes_watched = false;
    io->read_ready = true;  // unknown: the next attempt finds out
    here->post([op] { move_done(op, true); });
  });
}

}  // namespace

bool io_start(io_op* op, std::coroutine_handle<> h, context* ctx) noexcept {
  if (ctx->cut_if_cancelled()) {
    op->error = errc::operation_canceled;
    return yield_if_budget_spent(h, ctx);
  }
  if (op->io == nullptr || op->io->fd < 0) {
    op->error = errc::closed;
    return yield_if_budget_spent(h, ctx);
  }
  worker* w = current_worker();
  if (op->io->owner != nullptr && op->io->owner != w) {
    note_waiting(op);
    move_registration(w, op, h, ctx);
    return true;
  }
  if (op->attempt(op)) return yield_if_budget_spent(h, ctx);
  return park(w, op, h, ctx);
}

void io_close(io_state* io) noexcept {
  if (io->moving) {
    io->close_after_move = true;  // move_done closes it, on this loop, once the owner has let go
    return;
  }
  worker* here = current_worker();
  worker* owner = io->owner;
  auto close_here = [](io_state* s, bool unregister) noexcept {
    io_abort(s, errc::closed);
    if (unregister) s->owner->io().remove(s);

    ::close(s->fd);
    delete s;
  };
  if (owner == nullptr || owner == here) {
    close_here(io, owner != nullptr);
  } else if (here == nullptr || owner->shared() == nullptr || owner->shared()->threads_joined()) {
    // Outside the runtime (after it ended), or once its threads have stopped (this thread stands in
    // for the owner at shutdown): no loop will run a post any more. Closing the descriptor drops it
    // from the reactor unless a forked child still holds it. While the runtime stops but its threads
    // still run their last turns, the owner may be touching this descriptor: the close is posted, and
    // the scheduler runs what its workers had no turn left for once they have stopped.
    close_here(io, false);
  } else {
    owner->post([io, close_here] { close_here(io, true); });
  }
}

void io_ready(io_state* io, io_dir d) noexcept {
  if (d == io_dir::read) io->read_ready = true;
  io_op* op = io->parked[static_cast<int>(d)];
  if (op != nullptr && op->attempt(op)) finish(op);
}

void io_abort(io_state* io, std::error_code ec) noexcept {
  for (io_op* op : io->parked) {
    if (op != nullptr) {
      op->error = ec;
      finish(op);
    }
  }
}

}  // namespace weft::detail
