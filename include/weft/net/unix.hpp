// Unix-domain stream sockets: local connections named by a filesystem path.
//
//     auto listener = weft::net::unix_listener::bind("/tmp/app.sock");   // result<unix_listener>
//     auto conn = co_await weft::net::unix_stream::connect("/tmp/app.sock");
//
// Reading and writing are stream_socket's (weft/net/socket.hpp). Paths are limited to 107 bytes
// (sockaddr_un); a longer one gives errc::invalid_argument.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "weft/error.hpp"
#include "weft/net/socket.hpp"
#include "weft/task.hpp"

namespace weft::net {

/// A connected Unix-domain stream socket.
class unix_stream : public stream_socket {
 public:
  unix_stream() noexcept = default;

  /// Connects to the listener at `path`. Errors: the kernel's (`std::errc::no_such_file_or_directory`,
  /// `std::errc::connection_refused`), errc::invalid_argument for an over-long path.
  static task<result<unix_stream>> connect(std::string path);
  /// Two streams connected to each other (socketpair).
  static result<std::pair<unix_stream, unix_stream>> pair() noexcept;
  /// Adopts a connected, non-blocking socket and registers it with the current loop.
  static result<unix_stream> adopt(int fd) noexcept;

 private:
  explicit unix_stream(detail::io_state* io) noexcept : stream_socket(io) {}
};

using unix_accept_awaitable = detail::io_awaitable<detail::accept_op<unix_stream>>;

/// A listening Unix-domain socket. It removes its path when closed (if it still names this socket's
/// file), so a restarted server can bind again.
class unix_listener : public basic_socket {
 public:
  unix_listener() noexcept = default;
  unix_listener(unix_listener&& other) noexcept = default;  // moves the path too
  unix_listener& operator=(unix_listener&& other) noexcept;
  ~unix_listener() { close(); }

  /// Binds `path` (which must not exist) and listens.
  static result<unix_listener> bind(std::string path, int backlog = 1024) noexcept;
  /// Waits for the next connection.
  unix_accept_awaitable accept() noexcept { return unix_accept_awaitable(io_); }
  const std::string& path() const noexcept { return path_; }
  /// Stops listening and removes the path. Idempotent.
  void close() noexcept;

 private:
  unix_listener(detail::io_state* io, std::string path) noexcept : basic_socket(io), path_(std::move(path)) {}
  std::string path_;
  unsigned long inode_ = 0;  // of the file bind() created at path_
};

}  // namespace weft::net
