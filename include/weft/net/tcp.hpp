// TCP: listeners and streams on the current loop.
//
//     auto listener = weft::net::tcp_listener::bind(*weft::net::endpoint::parse("127.0.0.1:0"));
//     auto conn = co_await listener->accept();                     // result<tcp_stream>
//     char buf[4096];
//     auto n = co_await conn->read_some(buf);                       // result<size_t>; 0 is end of stream
//     co_await conn->write_all("hello");                            // result<void>
//
// Reading and writing (stream_socket), errors and cancellation: see weft/net/socket.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/error.hpp"
#include "weft/net/address.hpp"
#include "weft/net/socket.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::net {

/// A connected TCP socket. Move-only; destroying it closes the connection.
class tcp_stream : public stream_socket {
 public:
  tcp_stream() noexcept = default;

  /// Connects to `to`. Errors: the kernel's (`std::errc::connection_refused`, ...), `errc::timed_out`
  /// after `timeout`, `errc::operation_canceled`.
  static task<result<tcp_stream>> connect(endpoint to, clock::duration timeout = std::chrono::seconds(30));
  /// Resolves `host` (weft/net/resolver.hpp) and connects to one of its addresses, racing them as
  /// Happy Eyeballs (RFC 8305) does: address families alternate, IPv6 first; a new attempt starts
  /// when the previous one fails or after `attempt_delay`, whichever comes first; the first to connect
  /// wins and the others are cancelled. `timeout` bounds the whole connect, resolution included.
  /// Errors: the resolver's, the last attempt's (`std::errc::connection_refused`, ...), errc::timed_out.
  static task<result<tcp_stream>> connect(std::string host, std::uint16_t port,
                                          clock::duration timeout = std::chrono::seconds(30),
                                          clock::duration attempt_delay = std::chrono::milliseconds(250));
  /// The race above over given endpoints, in the order given.
  static task<result<tcp_stream>> connect_any(std::vector<endpoint> candidates,
                                              clock::duration timeout = std::chrono::seconds(30),
                                              clock::duration attempt_delay = std::chrono::milliseconds(250));
  /// Adopts a connected, non-blocking socket and registers it with the current loop.
  static result<tcp_stream> adopt(int fd) noexcept;

  /// TCP_NODELAY (off by default in the kernel; weft's HTTP server turns it on).
  result<void> set_nodelay(bool on) noexcept;
  /// SO_KEEPALIVE.
  result<void> set_keepalive(bool on) noexcept;
  /// SO_SNDBUF: caps what the kernel queues for this socket's peer (Linux doubles `bytes` for its own
  /// bookkeeping, and stops growing the buffer by itself). Errors: errc::invalid_argument past
  /// INT_MAX / 2, or the kernel's.
  result<void> set_send_buffer(std::size_t bytes) noexcept;
  result<endpoint> local_endpoint() const noexcept;
  result<endpoint> remote_endpoint() const noexcept;

 private:
  explicit tcp_stream(detail::io_state* io) noexcept : stream_socket(io) {}
};

using tcp_accept_awaitable = detail::io_awaitable<detail::accept_op<tcp_stream>>;

struct listen_options {
  int backlog = 1024;
  bool reuse_address = true;  // SO_REUSEADDR: rebind at once after a restart
  bool reuse_port = false;    // SO_REUSEPORT: several listeners share the port (one per worker)
};

/// A listening TCP socket.
class tcp_listener : public basic_socket {
 public:
  tcp_listener() noexcept = default;

  /// Binds and listens on `at` (port 0: the kernel picks one; read it with local_endpoint()).
  static result<tcp_listener> bind(const endpoint& at, const listen_options& options = {}) noexcept;

  /// Waits for the next connection. Errors include `std::errc::too_many_files_open` (EMFILE) and
  /// ENFILE, after which accepting can succeed again once descriptors are freed; `errc::closed`.
  tcp_accept_awaitable accept() noexcept { return tcp_accept_awaitable(io_); }

  result<endpoint> local_endpoint() const noexcept;

 private:
  explicit tcp_listener(detail::io_state* io) noexcept : basic_socket(io) {}
};

}  // namespace weft::net
