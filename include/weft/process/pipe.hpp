// The two ends of a pipe to or from a child process (weft/process/child.hpp), read and written
// asynchronously like a socket: an operation suspends only when the pipe is empty (reading) or full
// (writing), and the loop's reactor resumes it.
//
//     std::string text;
//     if (auto r = co_await child.out.read_to_end(text); !r) { /* r.error() */ }
//     co_await child.in.write_all("input\n");
//     child.in.close();                       // the child reads end of file
//
// Errors and cancellation are as for sockets (weft/net/socket.hpp): `errc::operation_canceled` when
// the awaiting task is cancelled, `errc::timed_out` after a given timeout, `errc::closed` on an end
// that is not open, the kernel's code otherwise (writing to a pipe nobody reads: `std::errc::broken_pipe`;
// weft ignores SIGPIPE for that reason). One read and one write at a time on each end.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "weft/error.hpp"
#include "weft/net/socket.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::process {

/// The end of a pipe this process reads from (a child's stdout or stderr). Move-only; closes on destruction.
class pipe_reader : public net::basic_socket {
 public:
  pipe_reader() noexcept = default;
  /// Adopts the read end of a pipe and makes it non-blocking. The current loop's reactor watches it.
  static result<pipe_reader> adopt(int fd) noexcept;

  /// Reads what is there, at most `buf.size()` bytes, waiting until at least one byte is. 0 means end
  /// of file: every writer (the child and anything it passed the pipe to) has closed it.
  net::read_awaitable read_some(std::span<char> buf) noexcept { return {io_, buf, clock::duration::zero()}; }
  /// As above, giving up with `errc::timed_out` if nothing arrives within `timeout`.
  net::read_awaitable read_some(std::span<char> buf, clock::duration timeout) noexcept { return {io_, buf, timeout}; }
  /// Appends everything up to end of file to `out`. `errc::too_large` once `out` would grow past
  /// `max_bytes` (what was read so far stays in `out`).
  task<result<void>> read_to_end(std::string& out, std::size_t max_bytes = std::size_t(-1));

 private:
  explicit pipe_reader(net::detail::io_state* io) noexcept : basic_socket(io) {}
};

/// The end of a pipe this process writes to (a child's stdin). Move-only; closes on destruction, and
/// the child then reads end of file.
class pipe_writer : public net::basic_socket {
 public:
  pipe_writer() noexcept = default;
  /// Adopts the write end of a pipe and makes it non-blocking.
  static result<pipe_writer> adopt(int fd) noexcept;

  /// Writes all of `data`, waiting while the pipe is full (the child is not reading).
  net::write_awaitable write_all(std::string_view data) noexcept { return {io_, std::span(&data, 1)}; }

 private:
  explicit pipe_writer(net::detail::io_state* io) noexcept : basic_socket(io) {}
};

}  // namespace weft::process
