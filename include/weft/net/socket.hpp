// What every weft socket shares: ownership of a descriptor registered with the current loop, and —
// for connected byte streams (TCP, Unix-domain) — reading and writing.
//
// Every operation returns a `result`: errors from the kernel keep their `std::system_category` code
// (compare with `std::errc::connection_reset` and friends), weft's own are `weft::errc`. Each awaitable
// first tries the system call and suspends only if it would block; none allocates.
//
// Cancellation: cancelling the awaiting task completes a suspended operation with
// `errc::operation_canceled`; for a write, some bytes may already have been sent. One read and one write
// may be in progress on a socket at a time (a second gets `errc::operation_in_progress`).
//
// A socket belongs to the loop it was opened on (the current one); use it from tasks on that loop.
#pragma once

#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <span>
#include <string_view>

#include "weft/detail/io_op.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/error.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::net {

namespace detail {

using weft::detail::io_op;
using weft::detail::io_state;

/// Adds what a weft awaitable needs to one socket operation `Op` (which provides `outcome()`).
template <class Op>
class [[nodiscard]] io_awaitable : public Op {
 public:
  using Op::Op;
  io_awaitable(io_awaitable&&) = delete;
  bool await_ready() const noexcept { return false; }
  template <weft::detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return weft::detail::io_start(this, h, h.promise().ctx);
  }
  auto await_resume() { return Op::outcome(); }
};

struct read_op : io_op {
  read_op(io_state* state, std::span<char> buf, clock::duration timeout) noexcept;
  weft::result<std::size_t> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
  char* data;
  std::size_t size;
};

/// Waits for readiness without transferring anything. `after_would_block`: a read made elsewhere (by
/// OpenSSL on the descriptor) just said EAGAIN, so wait for the next edge.
struct readiness_op : io_op {
  readiness_op(io_state* state, weft::detail::io_dir d, clock::duration timeout, bool after_would_block) noexcept;
  weft::result<void> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
  bool first = true;
};

struct write_op : io_op {
  static constexpr std::size_t max_parts = 16;
  /// `stall_timeout` (zero: none): fail with `timed_out` once no byte has gone out for that long.
  write_op(io_state* state, std::span<const std::string_view> parts, clock::duration stall_timeout = {}) noexcept;
  weft::result<void> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
  iovec parts[max_parts];
  std::size_t first = 0;  // parts before this one are fully written
  std::size_t count = 0;
};

/// Accepts one connection; `Stream::adopt(fd)` turns it into the listener's stream type.
struct accept_fd_op : io_op {
  explicit accept_fd_op(io_state* state) noexcept;
  static bool attempt(io_op* op) noexcept;
};
template <class Stream>
struct accept_op : accept_fd_op {
  using accept_fd_op::accept_fd_op;
  weft::result<Stream> outcome() const noexcept {
    if (error) return fail(error);
    return Stream::adopt(static_cast<int>(value));
  }
};

}  // namespace detail

using read_awaitable = detail::io_awaitable<detail::read_op>;
using write_awaitable = detail::io_awaitable<detail::write_op>;
using readiness_awaitable = detail::io_awaitable<detail::readiness_op>;

/// Owns one registered descriptor. Move-only; destroying it closes the descriptor.
class basic_socket {
 public:
  basic_socket() noexcept = default;
  basic_socket(basic_socket&& other) noexcept;
  basic_socket& operator=(basic_socket&& other) noexcept;
  basic_socket(const basic_socket&) = delete;
  basic_socket& operator=(const basic_socket&) = delete;
  ~basic_socket() { close(); }

  /// Closes the socket; operations suspended on it complete with `errc::closed`. Idempotent.
  void close() noexcept;
  bool is_open() const noexcept { return io_ != nullptr; }
  /// The file descriptor, or -1.
  int native_handle() const noexcept;

 protected:
  explicit basic_socket(detail::io_state* io) noexcept : io_(io) {}
  /// Registers a non-blocking descriptor with the current loop (closing it on failure).
  static result<detail::io_state*> register_fd(int fd) noexcept;
  detail::io_state* io_ = nullptr;
};

/// A connected byte stream: the reading and writing that TCP and Unix-domain streams share.
class stream_socket : public basic_socket {
 public:
  stream_socket() noexcept = default;

  /// Reads what is available, at most `buf.size()` bytes, waiting until at least one byte is. Returns
  /// the count; 0 means the peer closed its side (end of stream).
  read_awaitable read_some(std::span<char> buf) noexcept { return {io_, buf, clock::duration::zero()}; }
  /// As above, giving up with `errc::timed_out` if nothing arrives within `timeout`.
  read_awaitable read_some(std::span<char> buf, clock::duration timeout) noexcept { return {io_, buf, timeout}; }
  /// Reads what is available now without waiting: the count (0: end of stream), or
  /// `std::errc::operation_would_block` if nothing is there yet.
  result<std::size_t> try_read_some(std::span<char> buf) noexcept;
  /// Waits until a read would not block (data, end of stream or an error is there), without reading.
  /// With try_read_some, a server can wait for many idle connections without a buffer for each.
  /// Errors: `errc::timed_out` after `timeout` (zero: none), `errc::operation_canceled`, `errc::closed`.
  readiness_awaitable wait_readable(clock::duration timeout = clock::duration::zero()) noexcept {
    return {io_, weft::detail::io_dir::read, timeout, false};
  }
  /// Waits for the next read edge: for code that reads the descriptor itself (OpenSSL) and just got
  /// EAGAIN. Errors as wait_readable's.
  readiness_awaitable wait_read_edge(clock::duration timeout = clock::duration::zero()) noexcept {
    return {io_, weft::detail::io_dir::read, timeout, true};
  }
  /// Waits until a write would not block: for code that writes the descriptor itself and got EAGAIN.
  readiness_awaitable wait_writable(clock::duration timeout = clock::duration::zero()) noexcept {
    return {io_, weft::detail::io_dir::write, timeout, true};
  }
  /// Fills `buf` completely; `errc::end_of_stream` if the peer closes first.
  task<result<void>> read_exact(std::span<char> buf);

  /// Writes all of `data`, waiting as the kernel's buffer drains.
  write_awaitable write_all(std::string_view data) noexcept { return {io_, std::span(&data, 1)}; }
  /// Writes all the parts in order, gathered (sendmsg with an iovec each; at most 16 parts). Pass a
  /// std::array of string_views: g++ 12 cannot keep a braced list alive across a co_await.
  write_awaitable write_all(std::span<const std::string_view> parts) noexcept { return {io_, parts}; }
  /// As above, giving up with `errc::timed_out` once no byte has gone out for `stall_timeout` (a peer
  /// that stopped reading). A slow peer that keeps reading is never cut off; some bytes may have gone.
  /// After such a stall, closing the socket resets the connection: a FIN would wait behind the unsent
  /// bytes, which the kernel would keep for minutes after the close.
  write_awaitable write_all(std::string_view data, clock::duration stall_timeout) noexcept {
    return {io_, std::span(&data, 1), stall_timeout};
  }
  write_awaitable write_all(std::span<const std::string_view> parts, clock::duration stall_timeout) noexcept {
    return {io_, parts, stall_timeout};
  }

  /// Sends FIN: the peer reads end of stream; this side can still read.
  result<void> shutdown_write() noexcept;

 protected:
  explicit stream_socket(detail::io_state* io) noexcept : basic_socket(io) {}
};

}  // namespace weft::net
