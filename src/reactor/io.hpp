// A descriptor registered with a loop's reactor, and the readiness entry points a backend calls.
// The protocol of an operation on it is in weft/detail/io_op.hpp.
#pragma once

#include <system_error>

#include "weft/detail/io_op.hpp"

namespace weft::detail {

class worker;

/// Registration is lazy: a socket joins the reactor of the loop where an operation on it first has to
/// wait, so a socket handed to a task that another worker steals before it starts is never registered
/// on the wrong loop. A socket registered on one loop and then used from another moves (io_start).
struct io_state {
  int fd = -1;
  worker* owner = nullptr;  // the loop whose reactor watches fd; null until an op first parks
  io_op* parked[2] = {nullptr, nullptr};  // indexed by io_dir
  bool writes_watched = false;            // see reactor::watch_writes
  // False once a read has drained the socket (it would block, or returned less than asked for), until
  // the next read edge: reads and wait_readable then park without a system call. Starts true.
  bool read_ready = true;
  // The peer has closed or reset (an edge carried RDHUP, HUP or ERR). Sticky: from then on a short read
  // does not mean drained, because the end of stream or the error raises no further edge.
  bool peer_closed = false;
  // A pipe, not a socket: reads and writes use read()/writev() (recv() and send() need a socket).
  bool is_pipe = false;
  // An op is on its way from `owner`'s loop to the loop using the descriptor (move_registration): the
  // owner is letting go, and the op resumes on the using loop. Set and cleared on the using loop.
  bool moving = false;
  // io_close was called during a move: the close waits for the op to come back (see io_close).
  bool close_after_move = false;
};

/// The backend saw `io` become ready (or fail) in direction `d`: retry the parked op, if any.
void io_ready(io_state* io, io_dir d) noexcept;
/// Makes closing `fd` reset the connection. For a stream whose write failed its stall limit: the peer
/// stopped reading, so a FIN would wait behind the unsent bytes, and the kernel would keep them, and
/// the connection, for minutes after the descriptor is gone (nginx's reset_timedout_connection).
void reset_on_close(int fd) noexcept;
/// Completes every op parked on `io` with `ec` (the descriptor is about to be closed).
void io_abort(io_state* io, std::error_code ec) noexcept;
/// Aborts what is parked on `io`, unregisters it, closes the descriptor and frees `io` — on the loop
/// that owns it (posted there if that is another worker's).
void io_close(io_state* io) noexcept;

}  // namespace weft::detail
