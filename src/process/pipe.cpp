#include "weft/process/pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "net/socket_impl.hpp"

namespace weft::process {
namespace {

/// Makes `fd` non-blocking and registers it as a pipe with the current loop (closing it on failure).
result<net::detail::io_state*> adopt_pipe(int fd, result<net::detail::io_state*> (*reg)(int)) noexcept {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    auto ec = net::detail::last_error();
    ::close(fd);
    return fail(ec);
  }
  auto io = reg(fd);
  if (io) (*io)->is_pipe = true;
  return io;
}

}  // namespace

result<pipe_reader> pipe_reader::adopt(int fd) noexcept {
  auto io = adopt_pipe(fd, &register_fd);
  if (!io) return fail(io.error());
  return pipe_reader(*io);
}

result<pipe_writer> pipe_writer::adopt(int fd) noexcept {
  net::detail::ignore_sigpipe_once();  // a child that stops reading gives EPIPE, not a dead parent
  auto io = adopt_pipe(fd, &register_fd);
  if (!io) return fail(io.error());
  return pipe_writer(*io);
}

task<result<void>> pipe_reader::read_to_end(std::string& out, std::size_t max_bytes) {
  constexpr std::size_t chunk = 16 * 1024;
  for (;;) {
    std::size_t used = out.size();
    if (used >= max_bytes) {
      // Full: one more byte (or end of file) decides whether the limit was passed.
      char probe;
      auto n = co_await read_some(std::span(&probe, 1));
      if (!n) co_return fail(n.error());
      if (*n == 0) co_return result<void>{};
      co_return fail(errc::too_large);
    }
    std::size_t room = std::min(chunk, max_bytes - used);
    out.resize(used + room);
    auto n = co_await read_some(std::span(out.data() + used, room));
    out.resize(used + (n ? *n : 0));
    if (!n) co_return fail(n.error());
    if (*n == 0) co_return result<void>{};
  }
}

}  // namespace weft::process
