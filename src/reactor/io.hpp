// A descriptor registered with a loop's reactor, and the readiness entry points a backend calls.
// The protocol of an operation on it is in weft/detail/io_op.hpp.
#pragma once

#include <system_error>

#include "weft/detail/io_op.hpp"

namespace weft::detail {

struct io_state {
  int fd = -1;
  io_op* parked[2] = {nullptr, nullptr};  // indexed by io_dir
  bool writes_watched = false;            // see reactor::watch_writes
  // False from a read that would block until the next read edge: lets wait_readable park without a
  // system call. Starts true (unknown: try the read).
  bool read_ready = true;
};

/// The backend saw `io` become ready (or fail) in direction `d`: retry the parked op, if any.
void io_ready(io_state* io, io_dir d) noexcept;
/// Completes every op parked on `io` with `ec` (the descriptor is about to be closed).
void io_abort(io_state* io, std::error_code ec) noexcept;

}  // namespace weft::detail
