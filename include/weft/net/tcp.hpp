// TCP: listeners and streams on the current loop.
//
//     auto listener = weft::net::tcp_listener::bind(*weft::net::endpoint::parse("127.0.0.1:0"));
//     auto conn = co_await listener->accept();                     // result<tcp_stream>
//     char buf[4096];
//     auto n = co_await conn->read_some(buf);                       // result<size_t>; 0 is end of stream
//     co_await conn->write_all("hello");                            // result<void>
//
// Every operation returns a `result`: errors from the kernel keep their `std::system_category` code
// (compare with `std::errc::connection_reset` and friends), weft's own are `weft::errc`. Each awaitable
// first tries the system call and suspends only if it would block; none allocates.
//
// Cancellation: cancelling the awaiting task completes a suspended operation with
// `errc::operation_canceled`; for a write, some bytes may already have been sent. One read and one write
// may be in progress on a stream at a time (a second gets `errc::operation_in_progress`).
//
// A socket belongs to the loop it was opened on (the current one); use it from tasks on that loop.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <span>
#include <string_view>

#include "weft/detail/io_op.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/error.hpp"
#include "weft/net/address.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::net {

class tcp_stream;

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

struct readable_op : io_op {
  readable_op(io_state* state, clock::duration timeout) noexcept;
  weft::result<void> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
};

struct write_op : io_op {
  static constexpr std::size_t max_parts = 16;
  write_op(io_state* state, std::span<const std::string_view> parts) noexcept;
  weft::result<void> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
  iovec parts[max_parts];
  std::size_t first = 0;  // parts before this one are fully written
  std::size_t count = 0;
};

struct accept_op : io_op {
  explicit accept_op(io_state* state) noexcept;
  weft::result<tcp_stream> outcome() const noexcept;
  static bool attempt(io_op* op) noexcept;
};

}  // namespace detail

using read_awaitable = detail::io_awaitable<detail::read_op>;
using write_awaitable = detail::io_awaitable<detail::write_op>;
using readable_awaitable = detail::io_awaitable<detail::readable_op>;
using accept_awaitable = detail::io_awaitable<detail::accept_op>;

/// A connected TCP socket. Move-only; destroying it closes the connection.
class tcp_stream {
 public:
  tcp_stream() noexcept = default;
  tcp_stream(tcp_stream&& other) noexcept;
  tcp_stream& operator=(tcp_stream&& other) noexcept;
  tcp_stream(const tcp_stream&) = delete;
  tcp_stream& operator=(const tcp_stream&) = delete;
  ~tcp_stream() { close(); }

  /// Connects to `to`. Errors: the kernel's (`std::errc::connection_refused`, ...), `errc::timed_out`
  /// after `timeout`, `errc::operation_canceled`.
  static task<result<tcp_stream>> connect(endpoint to, clock::duration timeout = std::chrono::seconds(30));

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
  readable_awaitable wait_readable(clock::duration timeout = clock::duration::zero()) noexcept {
    return {io_, timeout};
  }
  /// Fills `buf` completely; `errc::end_of_stream` if the peer closes first.
  task<result<void>> read_exact(std::span<char> buf);

  /// Writes all of `data`, waiting as the kernel's buffer drains.
  write_awaitable write_all(std::string_view data) noexcept { return {io_, std::span(&data, 1)}; }
  /// Writes all the parts in order, gathered (sendmsg with an iovec each; at most 16 parts). Pass a
  /// std::array of string_views: g++ 12 cannot keep a braced list alive across a co_await.
  write_awaitable write_all(std::span<const std::string_view> parts) noexcept { return {io_, parts}; }

  /// Sends FIN: the peer reads end of stream; this side can still read.
  result<void> shutdown_write() noexcept;
  /// TCP_NODELAY (off by default in the kernel; weft's HTTP server turns it on).
  result<void> set_nodelay(bool on) noexcept;
  /// SO_KEEPALIVE.
  result<void> set_keepalive(bool on) noexcept;
  result<endpoint> local_endpoint() const noexcept;
  result<endpoint> remote_endpoint() const noexcept;

  /// Closes the socket; operations suspended on it complete with `errc::closed`. Idempotent.
  void close() noexcept;
  bool is_open() const noexcept { return io_ != nullptr; }
  /// The file descriptor, or -1.
  int native_handle() const noexcept;

  /// Adopts a connected, non-blocking socket and registers it with the current loop.
  static result<tcp_stream> adopt(int fd) noexcept;

 private:
  explicit tcp_stream(detail::io_state* io) noexcept : io_(io) {}
  detail::io_state* io_ = nullptr;
};

struct listen_options {
  int backlog = 1024;
  bool reuse_address = true;  // SO_REUSEADDR: rebind at once after a restart
  bool reuse_port = false;    // SO_REUSEPORT: several listeners share the port (one per worker)
};

/// A listening TCP socket.
class tcp_listener {
 public:
  tcp_listener() noexcept = default;
  tcp_listener(tcp_listener&& other) noexcept;
  tcp_listener& operator=(tcp_listener&& other) noexcept;
  tcp_listener(const tcp_listener&) = delete;
  tcp_listener& operator=(const tcp_listener&) = delete;
  ~tcp_listener() { close(); }

  /// Binds and listens on `at` (port 0: the kernel picks one; read it with local_endpoint()).
  static result<tcp_listener> bind(const endpoint& at, const listen_options& options = {}) noexcept;

  /// Waits for the next connection. Errors include `std::errc::too_many_files_open` (EMFILE) and
  /// ENFILE, after which accepting can succeed again once descriptors are freed.
  accept_awaitable accept() noexcept { return accept_awaitable(io_); }

  result<endpoint> local_endpoint() const noexcept;
  /// Stops listening; a suspended accept completes with `errc::closed`. Idempotent.
  void close() noexcept;
  bool is_open() const noexcept { return io_ != nullptr; }
  int native_handle() const noexcept;

 private:
  explicit tcp_listener(detail::io_state* io) noexcept : io_(io) {}
  detail::io_state* io_ = nullptr;
};

}  // namespace weft::net
