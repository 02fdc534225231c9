#include "weft/net/unix.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "net/socket_impl.hpp"

namespace weft::net {

namespace {

/// Fills `sa` with `path`; false if it does not fit.
bool to_sockaddr_un(std::string_view path, sockaddr_un& sa) noexcept {
  std::memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path, path.data(), path.size());
  return true;
}

}  // namespace

result<unix_stream> unix_stream::adopt(int fd) noexcept {
  auto io = register_fd(fd);
  if (!io) return fail(io.error());
  return unix_stream(*io);
}

task<result<unix_stream>> unix_stream::connect(std::string path) {
  sockaddr_un sa{};
  if (!to_sockaddr_un(path, sa)) co_return fail(errc::invalid_argument);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return fail(detail::last_error());
  auto io = register_fd(fd);
  if (!io) co_return fail(io.error());
  unix_stream s(*io);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    // A full backlog makes a non-blocking Unix connect fail with EAGAIN rather than wait.
    if (errno != EINPROGRESS) co_return fail(detail::last_error());
    auto done = co_await detail::io_awaitable<detail::connect_op>(s.io_, clock::duration::zero());
    if (!done) co_return fail(done.error());
  }
  co_return s;
}

result<std::pair<unix_stream, unix_stream>> unix_stream::pair() noexcept {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) return fail(detail::last_error());
  auto a = adopt(fds[0]);
  if (!a) {
    ::close(fds[1]);
    return fail(a.error());
  }
  auto b = adopt(fds[1]);
  if (!b) return fail(b.error());
  return std::pair<unix_stream, unix_stream>(std::move(*a), std::move(*b));
}

unix_listener& unix_listener::operator=(unix_listener&& other) noexcept {
  if (this != &other) {
    close();
    basic_socket::operator=(std::move(other));
    path_ = std::move(other.path_);
    inode_ = other.inode_;
  }
  return *this;
}

result<unix_listener> unix_listener::bind(std::string path, int backlog) noexcept {
  sockaddr_un sa{};
  if (!to_sockaddr_un(path, sa)) return fail(errc::invalid_argument);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(detail::last_error());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 || ::listen(fd, std::max(1, backlog)) < 0) {
    std::error_code ec = detail::last_error();
    ::close(fd);
    return fail(ec);
  }
  struct stat st{};
  ::stat(path.c_str(), &st);
  auto io = register_fd(fd);
  if (!io) {
    ::unlink(path.c_str());
    return fail(io.error());
  }
  unix_listener l(*io, std::move(path));
  l.inode_ = st.st_ino;
  return l;
}

void unix_listener::close() noexcept {
  if (!is_open()) return;
  // Remove the path only if it still names the file bind() made (someone may have replaced it).
  struct stat named{};
  if (::stat(path_.c_str(), &named) == 0 && named.st_ino == inode_) ::unlink(path_.c_str());
  basic_socket::close();
}

}  // namespace weft::net
