#include "weft/net/tcp.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "net/socket_impl.hpp"

namespace weft::net {

result<tcp_stream> tcp_stream::adopt(int fd) noexcept {
  auto io = register_fd(fd);
  if (!io) return fail(io.error());
  return tcp_stream(*io);
}

task<result<tcp_stream>> tcp_stream::connect(endpoint to, clock::duration timeout) {
  sockaddr_storage ss{};
  socklen_t len = detail::to_sockaddr(to, ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return fail(detail::last_error());
  auto io = register_fd(fd);
  if (!io) co_return fail(io.error());
  tcp_stream s(*io);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    if (errno != EINPROGRESS) co_return fail(detail::last_error());
    auto done = co_await detail::io_awaitable<detail::connect_op>(s.io_, timeout);
    if (!done) co_return fail(done.error());
  }
  co_return s;
}

result<void> tcp_stream::set_nodelay(bool on) noexcept { return detail::set_flag(io_, IPPROTO_TCP, TCP_NODELAY, on); }
result<void> tcp_stream::set_keepalive(bool on) noexcept { return detail::set_flag(io_, SOL_SOCKET, SO_KEEPALIVE, on); }
result<void> tcp_stream::set_send_buffer(std::size_t bytes) noexcept {
  if (bytes > static_cast<std::size_t>(INT_MAX / 2)) return fail(errc::invalid_argument);
  return detail::set_int_option(io_, SOL_SOCKET, SO_SNDBUF, static_cast<int>(bytes));
}
result<endpoint> tcp_stream::local_endpoint() const noexcept { return detail::name_of(io_, false); }
result<endpoint> tcp_stream::remote_endpoint() const noexcept { return detail::name_of(io_, true); }

result<tcp_listener> tcp_listener::bind(const endpoint& at, const listen_options& options) noexcept {
  sockaddr_storage ss{};
  socklen_t len = detail::to_sockaddr(at, ss);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(detail::last_error());
  int one = 1;
  auto fail_close = [fd] {
    std::error_code ec = detail::last_error();
    ::close(fd);
    return fail(ec);
  };
  if (options.reuse_address && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return fail_close();
  if (options.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) return fail_close();
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) return fail_close();
  if (::listen(fd, std::max(1, options.backlog)) < 0) return fail_close();
  auto io = register_fd(fd);
  if (!io) return fail(io.error());
  return tcp_listener(*io);
}

result<endpoint> tcp_listener::local_endpoint() const noexcept { return detail::name_of(io_, false); }

}  // namespace weft::net
