// The parts every socket shares: registration, closing, and the stream operations.
#include "weft/net/socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <mutex>
#include <new>
#include <utility>

#include "net/socket_impl.hpp"
#include "reactor/reactor.hpp"
#include "runtime/worker.hpp"

namespace weft::net {

using weft::detail::io_dir;

namespace detail {

void ignore_sigpipe_once() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

std::int64_t loop_time_ns() noexcept {
  weft::detail::worker* w = weft::detail::current_worker();
  return (w != nullptr ? w->loop_now() : clock::now()).time_since_epoch().count();
}

namespace {
std::int64_t deadline_from(std::int64_t now_ns, clock::duration timeout) noexcept {
  return weft::deadline_after(clock::time_point(clock::duration(now_ns)), timeout).time_since_epoch().count();
}
}  // namespace

std::int64_t deadline_after(clock::duration timeout) noexcept {
  if (timeout <= clock::duration::zero()) return 0;
  // The loop's cached time: an I/O deadline may start up to one turn early, and every idle keep-alive
  // wait saves a clock read.
  return deadline_from(loop_time_ns(), timeout);
}

result<endpoint> name_of(const io_state* io, bool peer) noexcept {
  if (io == nullptr) return fail(errc::closed);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if ((peer ? getpeername(io->fd, sa, &len) : getsockname(io->fd, sa, &len)) < 0) return fail(last_error());
  return from_sockaddr(ss);
}

result<void> set_int_option(const io_state* io, int level, int name, int value) noexcept {
  if (io == nullptr) return fail(errc::closed);
  if (setsockopt(io->fd, level, name, &value, sizeof value) < 0) return fail(last_error());
  return {};
}

result<void> set_flag(const io_state* io, int level, int name, bool on) noexcept {
  return set_int_option(io, level, name, on ? 1 : 0);
}

connect_op::connect_op(io_state* state, clock::duration timeout) noexcept
    : io_op(state, io_dir::write, &connect_op::attempt) {
  deadline_ns = deadline_after(timeout);
}

bool connect_op::attempt(io_op* op) noexcept {
  // Connected? getpeername says so in one call (on loopback the handshake is over by the first try).
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  if (getpeername(op->io->fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0) return true;
  if (errno != ENOTCONN) {
    op->error = last_error();
    return true;
  }
  // Not connected: still on its way, or failed, which SO_ERROR tells (and clears).
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(op->io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == 0 || err == EINPROGRESS || err == EALREADY) return false;
  op->error = {err, std::system_category()};
  return true;
}

weft::result<void> connect_op::outcome() const noexcept {
  if (error) return fail(error);
  return {};
}

read_op::read_op(io_state* state, std::span<char> buf, clock::duration timeout) noexcept
    : io_op(state, io_dir::read, &read_op::attempt), data(buf.data()), size(buf.size()) {
  deadline_ns = deadline_after(timeout);
}

/// One recv: the count, or false if it would block. Tracks readiness as nginx does with edge-triggered
/// epoll: a recv that returns less than asked for has drained the socket, and any byte arriving after
/// it raises a new edge, so the next read can wait for that edge without a system call that would only
/// say EAGAIN. Not once the peer has closed or reset: its FIN or RST may have come in the same edge as
/// the data, and raises no other (net_tcp.end_of_stream_arriving_with_the_last_data_is_not_missed).
bool receive(io_state* io, char* data, std::size_t size, std::size_t& got, std::error_code& error) noexcept {
  if (!io->read_ready) return false;
  for (;;) {
    ssize_t n = io->is_pipe ? ::read(io->fd, data, size) : ::recv(io->fd, data, size, 0);
    if (n >= 0) {
      got = static_cast<std::size_t>(n);
      if (got > 0 && got < size && !io->peer_closed) io->read_ready = false;
      return true;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) {
      io->read_ready = false;
      return false;
    }
    error = last_error();
    return true;
  }
}

bool read_op::attempt(io_op* op) noexcept {
  auto* self = static_cast<read_op*>(op);
  return receive(op->io, self->data, self->size, op->value, op->error);
}

readiness_op::readiness_op(io_state* state, io_dir d, clock::duration timeout, bool after_would_block) noexcept
    : io_op(state, d, &readiness_op::attempt), first(after_would_block) {
  deadline_ns = deadline_after(timeout);
}

bool readiness_op::attempt(io_op* op) noexcept {
  auto* self = static_cast<readiness_op*>(op);
  if (op->dir == io_dir::read && !self->first) return op->io->read_ready;
  // The first attempt of an edge wait parks; the reactor's next call means an edge came.
  bool ready = !self->first;
  self->first = false;
  if (op->dir == io_dir::read && ready) op->io->read_ready = true;
  return ready;
}

weft::result<void> readiness_op::outcome() const noexcept {
  if (error) return fail(error);
  return {};
}

result<std::size_t> read_op::outcome() const noexcept {
  if (error) return fail(error);
  return value;
}

write_op::write_op(io_state* state, std::span<const std::string_view> in, clock::duration stall_timeout) noexcept
    : io_op(state, io_dir::write, &write_op::attempt) {
  if (stall_timeout > clock::duration::zero()) {
    progressed_ns = loop_time_ns();
    deadline_ns = deadline_from(progressed_ns, stall_timeout);
    stall_ns = stall_timeout.count();
  }
  if (in.size() > max_parts) {
    error = errc::invalid_argument;
    count = 0;
    return;
  }
  for (const std::string_view& p : in) {
    if (p.empty()) continue;
    parts[count++] = iovec{const_cast<char*>(p.data()), p.size()};
  }
}

bool write_op::attempt(io_op* op) noexcept {
  auto* self = static_cast<write_op*>(op);
  if (op->error) return true;  // rejected at construction
  while (self->first < self->count) {
    iovec* iov = self->parts + self->first;
    std::size_t n_iov = self->count - self->first;
    // MSG_NOSIGNAL: a peer that went away gives EPIPE, not a process-killing SIGPIPE. One part goes
    // through send(), which the kernel handles with less work than sendmsg().
    ssize_t n;
    if (op->io->is_pipe) {
      n = ::writev(op->io->fd, iov, static_cast<int>(n_iov));  // SIGPIPE is ignored (ignore_sigpipe_once)
    } else if (n_iov == 1) {
      n = ::send(op->io->fd, iov->iov_base, iov->iov_len, MSG_NOSIGNAL);
    } else {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = n_iov;
      n = ::sendmsg(op->io->fd, &msg, MSG_NOSIGNAL);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (would_block(errno)) return false;
      op->error = last_error();
      return true;
    }
    auto left = static_cast<std::size_t>(n);
    op->value += left;
    if (op->stall_ns != 0) op->progressed_ns = loop_time_ns();
    while (left > 0 && left >= self->parts[self->first].iov_len) left -= self->parts[self->first++].iov_len;
    if (left > 0) {
      iovec& p = self->parts[self->first];
      p.iov_base = static_cast<char*>(p.iov_base) + left;
      p.iov_len -= left;
    }
  }
  return true;
}

weft::result<void> write_op::outcome() const noexcept {
  if (error) return fail(error);
  return {};
}

accept_fd_op::accept_fd_op(io_state* state) noexcept : io_op(state, io_dir::read, &accept_fd_op::attempt) {}

bool accept_fd_op::attempt(io_op* op) noexcept {
  return attempt_syscall(op, [op] {
    for (;;) {
      int fd = ::accept4(op->io->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0 || errno != ECONNABORTED) return fd;  // a connection reset while queued: take the next
    }
  });
}

}  // namespace detail

basic_socket::basic_socket(basic_socket&& other) noexcept : io_(std::exchange(other.io_, nullptr)) {}

basic_socket& basic_socket::operator=(basic_socket&& other) noexcept {
  if (this != &other) {
    close();
    io_ = std::exchange(other.io_, nullptr);
  }
  return *this;
}

result<detail::io_state*> basic_socket::register_fd(int fd) noexcept {
  weft::detail::worker* w = weft::detail::current_worker();
  if (w == nullptr) {
    ::close(fd);
    return fail(errc::not_in_runtime);
  }
  // Registered with a reactor only when an operation first has to wait (see io_state).
  auto* io = new (std::nothrow) detail::io_state{};
  if (io == nullptr) {
    ::close(fd);
    return fail(std::make_error_code(std::errc::not_enough_memory));
  }
  io->fd = fd;
  return io;
}

void basic_socket::close() noexcept {
  if (io_ == nullptr) return;
  weft::detail::io_close(std::exchange(io_, nullptr));
}

int basic_socket::native_handle() const noexcept { return io_ != nullptr ? io_->fd : -1; }

result<std::size_t> stream_socket::try_read_some(std::span<char> buf) noexcept {
  if (io_ == nullptr) return fail(errc::closed);
  std::size_t got = 0;
  std::error_code error;
  if (!detail::receive(io_, buf.data(), buf.size(), got, error)) {
    return fail(std::make_error_code(std::errc::operation_would_block));
  }
  if (error) return fail(error);
  return got;
}

task<result<void>> stream_socket::read_exact(std::span<char> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    auto n = co_await read_some(buf.subspan(got));
    if (!n) co_return fail(n.error());
    if (*n == 0) co_return fail(errc::end_of_stream);
    got += *n;
  }
  co_return result<void>{};
}

result<void> stream_socket::shutdown_write() noexcept {
  if (io_ == nullptr) return fail(errc::closed);
  if (::shutdown(io_->fd, SHUT_WR) < 0) return fail(detail::last_error());
  return {};
}

}  // namespace weft::net
