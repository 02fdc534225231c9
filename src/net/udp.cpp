#include "weft/net/udp.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "net/socket_impl.hpp"

namespace weft::net {

using weft::detail::io_dir;

namespace detail {

receive_from_op::receive_from_op(io_state* state, std::span<char> buf, clock::duration timeout) noexcept
    : io_op(state, io_dir::read, &receive_from_op::attempt), data(buf.data()), size(buf.size()) {
  deadline_ns = deadline_after(timeout);
}

bool receive_from_op::attempt(io_op* op) noexcept {
  auto* self = static_cast<receive_from_op*>(op);
  return attempt_syscall(op, [self] {
    socklen_t len = sizeof self->from;
    return ::recvfrom(self->io->fd, self->data, self->size, 0, reinterpret_cast<sockaddr*>(&self->from), &len);
  });
}

weft::result<datagram> receive_from_op::outcome() const noexcept {
  if (error) return fail(error);
  return datagram{value, from_sockaddr(from)};
}

send_to_op::send_to_op(io_state* state, std::string_view d, const endpoint* peer) noexcept
    : io_op(state, io_dir::write, &send_to_op::attempt), data(d) {
  if (peer != nullptr) to_len = to_sockaddr(*peer, to);
}

bool send_to_op::attempt(io_op* op) noexcept {
  auto* self = static_cast<send_to_op*>(op);
  const sockaddr* dest = self->to_len != 0 ? reinterpret_cast<const sockaddr*>(&self->to) : nullptr;
  return attempt_syscall(op, [self, dest] {
    return ::sendto(self->io->fd, self->data.data(), self->data.size(), MSG_NOSIGNAL, dest, self->to_len);
  });
}

weft::result<std::size_t> send_to_op::outcome() const noexcept {
  if (error) return fail(error);
  return value;
}

}  // namespace detail

result<udp_socket> udp_socket::bind(const endpoint& at) noexcept {
  sockaddr_storage ss{};
  socklen_t len = detail::to_sockaddr(at, ss);
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(detail::last_error());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    std::error_code ec = detail::last_error();
    ::close(fd);
    return fail(ec);
  }
  auto io = register_fd(fd);
  if (!io) return fail(io.error());
  return udp_socket(*io);
}

result<void> udp_socket::connect(const endpoint& peer) noexcept {
  if (io_ == nullptr) return fail(errc::closed);
  sockaddr_storage ss{};
  socklen_t len = detail::to_sockaddr(peer, ss);
  if (::connect(io_->fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) return fail(detail::last_error());
  return {};
}

result<endpoint> udp_socket::local_endpoint() const noexcept { return detail::name_of(io_, false); }

}  // namespace weft::net
