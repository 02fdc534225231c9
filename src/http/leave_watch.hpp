// A handler that waits is watched for its client leaving: if the connection's peer closes or resets
// while the handler runs, the handler is cancelled (it sees operation_canceled at its next await) and
// the server closes the connection without an answer, freeing the slot at once. Without it, a request
// whose client had gone held its slot and its descriptor (in CLOSE_WAIT) until the handler ended: 100
// requests to `/drip?delay=100000` whose clients left made every later client get 503.
//
// Go's net/http does the same (a background read that cancels the request's context on EOF). The cost
// is paid only by handlers that wait: the handler first runs inline, and most (a hello, a lookup in
// memory) end before their first wait, with nothing watched. One that waits gets a watcher: a
// coroutine of this awaitable's own (no spawn, so no other worker can take it) that waits for the
// socket to turn readable and then peeks. End of stream or an error: the client has gone. Bytes: a
// pipelined request, left in place; the watch ends there (as Go's does: it cannot see further).
//
// Under TLS the watcher looks at the TCP socket beneath the records (OpenSSL reads it, so weft's
// readiness flag says nothing: it waits for the next edge instead). A closing client sends a record
// (close_notify, encrypted like data in TLS 1.3) just before its FIN, so bytes there are a leave if
// the peer has half-closed the connection (TCP_INFO: CLOSE_WAIT), now or within 200 ms, looked at
// every 20 ms; else a pipelined request, as over plain TCP.
//
// Both coroutines run on the connection's loop. The connection resumes once both have ended: the
// handler's end cancels a watcher still waiting, and the last of the two to end resumes it.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <coroutine>
#include <exception>
#include <utility>

#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/http/server.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::http::detail {

enum class peeked { gone, bytes, nothing };

/// What socket `fd` holds: end of stream or an error (the peer closed or reset), bytes, or nothing yet.
inline peeked peek_at(int fd) noexcept {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return peeked::bytes;
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return peeked::gone;
  return peeked::nothing;
}

/// True if the peer of socket `fd` has closed its side, whether or not bytes before its end of
/// stream are still unread (the connection is in CLOSE_WAIT), or has reset it.
inline bool peer_closed(int fd) noexcept {
  if (peek_at(fd) == peeked::gone) return true;
  tcp_info info{};
  socklen_t len = sizeof info;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_CLOSE_WAIT;
}

/// co_await leave_watch<Transport>(io, fd, handler_task, left): the handler's response (or its
/// exception); `left` is set if the client left while it ran (the handler was then cancelled). `fd`
/// below 0: nothing is watched, and the handler is simply awaited.
template <class Transport>
class leave_watch {
 public:
  leave_watch(Transport io, int fd, task<response> handler, bool& left) noexcept
      : io_(io), fd_(fd), left_(left), handler_(std::move(handler)) {}
  leave_watch(leave_watch&&) = delete;

  bool await_ready() const noexcept { return false; }
  template <weft::detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    auto& p = handler_.handle().promise();
    handler_ctx_.attach(h.promise().ctx);
    p.ctx = &handler_ctx_;
    p.on_done = &leave_watch::handler_done;
    p.on_done_arg = this;
    handler_.handle().resume();  // inline, until its first wait or its end
    if (!handler_running_) return false;
    waiting_ = h;
    if (fd_ < 0) return true;  // handler_done resumes `h`
    watcher_ = watch();
    auto& w = watcher_.handle().promise();
    w.ctx = &watcher_ctx_;  // a root of its own: the handler's end cancels it, nothing else
    w.on_done = &leave_watch::watcher_done;
    w.on_done_arg = this;
    watcher_running_ = true;
    watcher_.handle().resume();  // until it parks on the socket, or finds a verdict at once
    return true;
  }
  response await_resume() {
    handler_ctx_.detach();
    return handler_.handle().promise().take();
  }
 private:
  task<void> watch() {
    if constexpr (!Transport::encrypted) {
      auto ready = co_await io_.wait_idle(clock::duration::zero());
      if (!ready || !handler_running_) co_return;      // cancelled: the handler has ended
      if (peek_at(fd_) != peeked::gone) co_return;     // a pipelined request: left for the next read
    } else {
      for (;;) {
        peeked p = peek_at(fd_);
        if (p == peeked::gone) break;
        if (p == peeked::bytes) {
          // A record: a close_notify with its FIN on the way, or a pipelined request.
          bool closed = peer_closed(fd_);
          for (int i = 0; i < 10 && !closed; ++i) {
            if (!co_await sleep_for(std::chrono::milliseconds(20))) co_return;  // the handler has ended
            closed = peer_closed(fd_);
          }
          if (!closed) co_return;
          break;
        }
        auto edge = co_await io_.wait_socket_edge();  // nothing there yet: until something arrives
        if (!edge || !handler_running_) co_return;
      }
    }
    left_ = true;
    handler_ctx_.cancel();
  }
  static std::coroutine_handle<> handler_done(void* arg) noexcept {
    auto* self = static_cast<leave_watch*>(arg);
    self->handler_running_ = false;
    if (self->watcher_running_) {
      self->watcher_ctx_.cancel();  // its wait ends on this loop; its end resumes the connection
      return std::noop_coroutine();
    }
    return self->waiting_ ? self->waiting_ : std::noop_coroutine();
  }
  static std::coroutine_handle<> watcher_done(void* arg) noexcept {
    auto* self = static_cast<leave_watch*>(arg);
    self->watcher_running_ = false;
    if (self->handler_running_ || !self->waiting_) return std::noop_coroutine();
    return self->waiting_;
  }

  // lifetime: the contexts are declared before the tasks, so the frames (whose awaits point at them)
  // are destroyed first.
  weft::detail::context handler_ctx_;
  weft::detail::context watcher_ctx_;
  Transport io_;
  int fd_;
  bool handler_running_ = true;
  bool watcher_running_ = false;
  bool& left_;
  std::coroutine_handle<> waiting_;
  task<response> handler_;
  task<void> watcher_;
};

}  // namespace weft::http::detail
