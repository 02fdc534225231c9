#include "reactor/io.hpp"

#include <utility>

#include "reactor/reactor.hpp"
#include "runtime/worker.hpp"
#include "weft/error.hpp"

namespace weft::detail {
namespace {

void unpark(io_op* op) noexcept {
  op->io->parked[static_cast<int>(op->dir)] = nullptr;
  op->ctx->disarm();
  if (op->linked()) current_worker()->disarm_timer(op);
}

void finish(io_op* op) noexcept {
  unpark(op);
  schedule(std::exchange(op->waiting, {}), op->ctx);
}

void cut_short(cancel_waiter* w) noexcept {
  auto* op = static_cast<io_op*>(w);
  op->error = errc::operation_canceled;
  finish(op);
}

void deadline_passed(timer_entry* e) noexcept {
  auto* op = static_cast<io_op*>(e);
  op->error = errc::timed_out;
  finish(op);
}

}  // namespace

io_op::~io_op() {
  if (waiting) unpark(this);
}

bool io_start(io_op* op, std::coroutine_handle<> h, context* ctx) noexcept {
  if (ctx->cancelled()) {
    op->error = errc::operation_canceled;
    return false;
  }
  if (op->io == nullptr || op->io->fd < 0) {
    op->error = errc::closed;
    return false;
  }
  if (op->attempt(op)) return false;
  io_op*& slot = op->io->parked[static_cast<int>(op->dir)];
  if (slot != nullptr) {
    op->error = errc::operation_in_progress;
    return false;
  }
  worker* w = current_worker();
  if (op->dir == io_dir::write && !op->io->writes_watched) {
    if (std::error_code ec = w->io().watch_writes(op->io)) {
      op->error = ec;
      return false;
    }
    op->io->writes_watched = true;
  }
  clock::time_point deadline{clock::duration(op->deadline_ns)};
  if (op->deadline_ns != 0 && deadline <= w->now()) {
    op->error = errc::timed_out;
    return false;
  }
  slot = op;
  op->waiting = h;
  op->ctx = ctx;
  op->on_cancel = &cut_short;
  ctx->arm(op);
  if (op->deadline_ns != 0) {
    op->fire = &deadline_passed;
    w->arm_timer(op, deadline);
  }
  return true;
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
