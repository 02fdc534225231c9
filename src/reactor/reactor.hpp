// The reactor: where a loop waits for the outside world (I/O readiness, wake-ups from other threads).
//
// One interface, one folder per backend (reactor/epoll/, later reactor/io_uring/), chosen in exactly one
// place: make_reactor(). A loop calls poll() when it has nothing ready (or every few dozen tasks with a
// zero timeout, so I/O is never starved); any thread calls wake() to cut a poll short.
#pragma once

#include <memory>
#include <system_error>

namespace weft::detail {

struct io_state;

class reactor {
 public:
  virtual ~reactor() = default;
  /// Waits up to `timeout_ms` (-1: no limit, 0: just look) for events and delivers them; returns how
  /// many I/O events it delivered (wake-ups not counted).
  virtual int poll(int timeout_ms) = 0;
  /// Watches `io->fd` for readability until remove(io), and for writability too if `writes` (a
  /// descriptor whose first wait is a write: one system call instead of add, then watch_writes).
  virtual std::error_code add(io_state* io, bool writes = false) noexcept = 0;
  /// Stops watching `io->fd`; call before closing it. Closing alone is not enough: a child process
  /// forked meanwhile keeps the file open, and its events would still name `io` after it is freed.
  virtual void remove(io_state* io) noexcept = 0;
  /// Also watches `io->fd` for writability, from now on. Called the first time a write would block:
  /// most sockets never fill their send buffer, and watching writes costs a wake-up per ACK.
  virtual std::error_code watch_writes(io_state* io) noexcept = 0;
  /// Makes a poll in progress (or the next one) return at once. Safe from any thread.
  virtual void wake() noexcept = 0;
};

enum class reactor_kind { epoll };

std::unique_ptr<reactor> make_reactor(reactor_kind kind);

}  // namespace weft::detail
