// Helpers the socket sources share (src/net/*.cpp).
#pragma once

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "net/sockaddr.hpp"
#include "reactor/io.hpp"
#include "weft/error.hpp"
#include "weft/net/address.hpp"
#include "weft/time.hpp"

namespace weft::net::detail {

inline std::error_code last_error() noexcept { return {errno, std::system_category()}; }
inline bool would_block(int e) noexcept { return e == EAGAIN || e == EWOULDBLOCK; }

/// Runs `call`, a non-blocking system call returning ssize_t, again while it is interrupted, and records
/// its outcome in `op`: true with op->value or op->error set, false if it would block.
template <class Call>
bool attempt_syscall(io_op* op, Call call) noexcept {
  for (;;) {
    auto n = call();
    if (n >= 0) {
      op->value = static_cast<std::size_t>(n);
      return true;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) return false;
    op->error = last_error();
    return true;
  }
}

/// Sets SIGPIPE to be ignored, once per process: a write to a socket or pipe whose reader is gone then
/// fails with EPIPE instead of killing the process. Children get the default back (weft/process).
void ignore_sigpipe_once() noexcept;
/// An io_op deadline (weft::clock nanoseconds) `timeout` from now; 0 for no timeout.
std::int64_t deadline_after(clock::duration timeout) noexcept;
/// The loop's cached time (clock::now() outside a loop), in ns: when a stalling write last moved.
std::int64_t loop_time_ns() noexcept;
/// getsockname / getpeername as an endpoint.
result<endpoint> name_of(const io_state* io, bool peer) noexcept;
/// setsockopt of an int option, and of an int flag (1 or 0).
result<void> set_int_option(const io_state* io, int level, int name, int value) noexcept;
result<void> set_flag(const io_state* io, int level, int name, bool on) noexcept;
/// Waits for a non-blocking connect() that said EINPROGRESS to finish; its outcome says how it went.
struct connect_op : io_op {
  connect_op(io_state* state, clock::duration timeout) noexcept;
  static bool attempt(io_op* op) noexcept;
  weft::result<void> outcome() const noexcept;
};

}  // namespace weft::net::detail
