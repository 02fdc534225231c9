// The HTTP server: an accept loop and one task per connection, all in one task_group.
//
// A connection's life: read into a fixed buffer, feed llhttp until a request is complete, run the
// handler, append the response to `out`; when no complete request is left in the buffer, write `out`
// with one system call and read again. The parser copies what it keeps (target, fields, body), so every
// byte of the buffer is consumed before the next read and it never needs compacting.
//
// Shared state (`detail::server_state`) is reference-counted: each connection task holds it, so a runtime
// shutdown that destroys frames in any order never leaves a connection pointing at a dead server.
#include "weft/http/server.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "http/request_parser.hpp"
#include "http/response_writer.hpp"
#include "weft/net/tcp.hpp"
#include "weft/task_group.hpp"
#include "weft/timeout.hpp"

namespace weft::http {

namespace {

constexpr std::size_t read_buffer_size = 16 * 1024;
constexpr std::size_t flush_threshold = 64 * 1024;  // pipelined responses are written at least this often
constexpr auto accept_backoff = std::chrono::milliseconds(100);

struct connection {
  net::tcp_stream stream;
  connection* prev = nullptr;
  connection* next = nullptr;
  bool idle = true;  // waiting for the first byte of a request, nothing owed to the client
};

bool out_of_descriptors(const std::error_code& ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

void log_accept_error(const std::error_code& ec) {
  std::fprintf(stderr, "weft http: accept failed (%s); backing off and serving existing connections\n",
               ec.message().c_str());
}

}  // namespace

struct detail::server_state {
  router routes;
  server_options options;
  net::tcp_listener listener;
  connection* connections = nullptr;
  std::size_t count = 0;
  bool stopping = false;
  bool accept_error_logged = false;

  void link(connection* c) noexcept {
    c->next = connections;
    if (connections != nullptr) connections->prev = c;
    connections = c;
    ++count;
  }
  void unlink(connection* c) noexcept {
    if (c->prev != nullptr) c->prev->next = c->next;
    else connections = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    --count;
  }
};

namespace {

using state_ptr = std::shared_ptr<detail::server_state>;

/// Runs the handler for `req`; routing misses and handler exceptions become error responses.
task<response> dispatch(const router& routes, request& req) {
  std::string allow;
  const handler* h = routes.find(req, allow);
  if (h == nullptr) {
    if (allow.empty()) co_return response::text(404, "Not Found\n");
    response r = response::text(405, "Method Not Allowed\n");
    r.headers.add("Allow", allow);
    co_return r;
  }
  std::exception_ptr failure;
  try {
    co_return co_await (*h)(req);
  } catch (...) {
    failure = std::current_exception();
  }
  (void)failure;  // the client learns only that it failed; the details stay on the server
  co_return response::text(500, "Internal Server Error\n");
}

task<void> reject_busy(net::tcp_stream s) {
  std::string out;
  detail::write_error(503, "Service Unavailable: too many connections", out);
  co_await s.write_all(out);
}

/// Sends a streamed body straight to the connection, framed as chunks when `chunked`.
class stream_writer final : public body_writer {
 public:
  stream_writer(net::tcp_stream& s, bool chunked) noexcept : s_(s), chunked_(chunked) {}
  task<result<void>> write(std::string_view data) override {
    if (data.empty()) co_return result<void>{};  // an empty chunk would end the body
    if (!chunked_) co_return co_await s_.write_all(data);
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::array<std::string_view, 3> parts{std::string_view(size, static_cast<std::size_t>(n)), data, "\r\n"};
    co_return co_await s_.write_all(parts);
  }

 private:
  net::tcp_stream& s_;
  bool chunked_;
};

/// Writes and clears `out`; false if the connection is gone.
task<bool> flush(net::tcp_stream& s, std::string& out) {
  if (out.empty()) co_return true;
  auto w = co_await s.write_all(out);
  out.clear();
  co_return w.has_value();
}

task<void> serve_connection(state_ptr st, net::tcp_stream stream) {
  connection conn;
  conn.stream = std::move(stream);
  st->link(&conn);
  struct unlink_on_exit {
    detail::server_state* s;
    connection* c;
    ~unlink_on_exit() { s->unlink(c); }
  } guard{st.get(), &conn};

  const server_options& opt = st->options;
  (void)conn.stream.set_nodelay(true);
  detail::request_parser parser({opt.max_header_bytes, opt.max_request_line, opt.max_body_bytes});
  auto buf = std::make_unique<char[]>(read_buffer_size);
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string out;
  request req;
  if (auto peer = conn.stream.remote_endpoint()) req.remote = *peer;

  for (;;) {
    parser.start(req);
    bool sent_continue = false;
    clock::time_point head_deadline{};
    // Parse one request, reading as needed.
    for (;;) {
      if (begin < end) {
        std::size_t used = 0;
        auto parsed = parser.feed(buf.get() + begin, end - begin, used);
        begin += used;
        if (parsed == detail::request_parser::state::complete) break;
        if (parsed == detail::request_parser::state::failed) {
          detail::write_error(parser.error_status(), parser.error_reason(), out);
          co_await flush(conn.stream, out);
          co_return;
        }
      }
      begin = end = 0;
      auto flushed = co_await flush(conn.stream, out);
      if (!flushed) co_return;
      if (parser.wants_continue() && !sent_continue) {
        sent_continue = true;
        auto w = co_await conn.stream.write_all("HTTP/1.1 100 Continue\r\n\r\n");
        if (!w) co_return;
      }
      conn.idle = !parser.in_message();
      if (conn.idle && st->stopping) co_return;
      clock::duration wait = opt.keep_alive_timeout;
      if (!conn.idle) {
        if (parser.headers_done()) {
          wait = opt.body_timeout;
        } else {
          if (head_deadline == clock::time_point{}) head_deadline = clock::now() + opt.headers_timeout;
          wait = head_deadline - clock::now();
        }
      }
      bool was_idle = conn.idle;
      auto n = co_await conn.stream.read_some(std::span<char>(buf.get(), read_buffer_size),
                                              std::max(wait, clock::duration(1)));
      conn.idle = false;
      if (!n) {
        if (n.error() == errc::timed_out && !was_idle) {
          detail::write_error(408, "request timeout", out);
          co_await flush(conn.stream, out);
        }
        co_return;  // idle timeout, reset, closed by shutdown, cancelled
      }
      if (*n == 0) co_return;  // the client closed its side
      end = *n;
      if (was_idle) head_deadline = clock::now() + opt.headers_timeout;
    }

    bool keep_alive = parser.keep_alive() && !st->stopping;
    response resp = co_await dispatch(st->routes, req);
    keep_alive = keep_alive && !st->stopping;
    bool head_only = req.method == "HEAD";
    bool chunked = detail::write_response(resp, keep_alive, head_only, out);
    if (resp.stream && !head_only && detail::status_has_body(resp.status)) {
      auto flushed = co_await flush(conn.stream, out);
      if (!flushed) co_return;
      stream_writer writer(conn.stream, chunked);
      auto streamed = co_await resp.stream(writer);
      if (!streamed) co_return;  // the body is cut short: closing is the only honest signal left
      if (chunked) {
        auto ended = co_await conn.stream.write_all("0\r\n\r\n");
        if (!ended) co_return;
      }
    }
    if (!keep_alive) {
      co_await flush(conn.stream, out);
      (void)conn.stream.shutdown_write();
      co_return;
    }
    if (out.size() >= flush_threshold) {
      auto flushed = co_await flush(conn.stream, out);
      if (!flushed) co_return;
    }
  }
}

}  // namespace

server::server(router routes, server_options options) : s_(std::make_shared<detail::server_state>()) {
  s_->routes = std::move(routes);
  s_->options = options;
}

server::~server() = default;

result<void> server::listen(const net::endpoint& at) {
  auto l = net::tcp_listener::bind(at);
  if (!l) return fail(l.error());
  s_->listener = std::move(*l);
  return {};
}

net::endpoint server::local_endpoint() const {
  auto ep = s_->listener.local_endpoint();
  return ep ? *ep : net::endpoint{};
}

std::size_t server::connections() const noexcept { return s_->count; }

void server::shutdown() noexcept {
  detail::server_state& st = *s_;
  if (st.stopping) return;
  st.stopping = true;
  st.listener.close();
  for (connection* c = st.connections; c != nullptr; c = c->next) {
    if (c->idle) c->stream.close();
  }
}

task<void> server::serve() {
  state_ptr st = s_;
  task_group group(task_group::policy::collect_all);
  while (!st->stopping) {
    auto accepted = co_await st->listener.accept();
    if (!accepted) {
      std::error_code ec = accepted.error();
      if (ec == errc::closed || ec == errc::operation_canceled || st->stopping) break;
      if (out_of_descriptors(ec)) {
        if (!st->accept_error_logged) {
          st->accept_error_logged = true;
          (st->options.on_accept_error != nullptr ? st->options.on_accept_error : &log_accept_error)(ec);
        }
        auto slept = co_await sleep_for(accept_backoff);
        if (!slept) break;  // cancelled
      }
      continue;
    }
    if (st->count >= st->options.max_connections) {
      group.spawn(reject_busy(std::move(*accepted))).detach();
      continue;
    }
    group.spawn(serve_connection(st, std::move(*accepted))).detach();
  }
  st->stopping = true;
  st->listener.close();
  for (connection* c = st->connections; c != nullptr; c = c->next) {
    if (c->idle) c->stream.close();
  }
  auto drained = co_await timeout(st->options.shutdown_grace, group.join());
  (void)drained;  // timed out: the group was cancelled, and every connection has ended now
}

}  // namespace weft::http
