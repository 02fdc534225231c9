// The HTTP server: an accept loop and one task per connection, all in one task_group.
//
// A connection's life: read into the loop's shared buffer, feed llhttp until a request is complete, run
// the handler, append the response to `out`; when no complete request is pending, write `out` with one
// system call and read again. The parser copies what it keeps (target, fields, body); bytes after a
// complete request (pipelining) are copied into the connection's `pending` before the handler runs.
// An idle connection holds no buffer, parser or request: it waits for readability in a small frame of
// its own (serve_connection), and the heavy frame (serve_burst) exists only while it is busy.
//
// Shared state (`detail::server_state`) is reference-counted: each connection task holds it, so a runtime
// shutdown that destroys frames in any order never leaves a connection pointing at a dead server.
//
// Several workers: serve() runs one shard per worker, each with its own listener on the same port
// (SO_REUSEPORT: the kernel spreads connections over them), its own accept loop pinned to that worker,
// and its own connections, which never leave it. What the shards share is read-only (routes, options)
// or atomic (the connection count, `stopping`); shutdown() reaches each shard's listener and idle
// connections by posting to the shard's worker.
#include "weft/detail/atomic.hpp"
#include "weft/http/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "http/leave_watch.hpp"
#include "http/request_parser.hpp"
#include "http/response_writer.hpp"
#include "runtime/owned_counter.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "weft/net/tcp.hpp"
#include "weft/net/tls.hpp"
#include "weft/task_group.hpp"
#include "weft/timeout.hpp"

namespace weft::http {

struct shard;

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;
constexpr std::size_t flush_threshold = 64 * 1024;  // pipelined responses are written at least this often
constexpr auto accept_backoff = std::chrono::milliseconds(100);

struct connection {
  shard* home = nullptr;              // the accept loop it came from (its counters)
  net::tcp_stream* socket = nullptr;  // the TCP socket underneath (closed by shutdown() when idle)
  net::endpoint remote;
  connection* prev = nullptr;
  connection* next = nullptr;
  bool idle = true;  // waiting for the first byte of a request, nothing owed to the client
                     // (only then may shutdown() close it)
};

/// The loop's read buffer, shared by all its connections: every read lands here and is parsed at once,
/// so a connection holds no read buffer while it waits. Connections stay on the loop that accepted them.
char* loop_read_buffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[read_buffer_size]);
  return buffer.get();
}

bool out_of_descriptors(const std::error_code& ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

void log_accept_error(const std::error_code& ec) {
  std::fprintf(stderr, "weft http: accept failed (%s); backing off and serving existing connections\n",
               ec.message().c_str());
}

}  // namespace

/// A shard's counters (server_metrics): written on its worker only, read by server::metrics().
struct shard_metrics {
  weft::detail::owned_counter accepted;
  weft::detail::owned_counter abandoned;  // see server_metrics::abandoned
  std::array<weft::detail::owned_counter, 5> responses;
  weft::detail::owned_histogram latency;
  std::array<weft::detail::owned_counter, rejection_count> rejected;

  void responded(int status) noexcept {
    if (status >= 100 && status < 600) responses[static_cast<std::size_t>(status / 100 - 1)].add();
  }
  /// The server answered `status` itself, for `why`, and closes.
  void refused(rejection why, int status) noexcept {
    rejected[static_cast<std::size_t>(why)].add();
    responded(status);
  }
  /// A parser failure's status (400, 413, 414 or 431).
  void refused(int status) noexcept {
    rejection why = status == 413   ? rejection::body_too_large
                    : status == 414 ? rejection::uri_too_long
                    : status == 431 ? rejection::headers_too_large
                                    : rejection::bad_request;
    refused(why, status);
  }
};

/// One accept loop and its connections, all on one worker (its fields are that worker's only).
struct shard {
  net::tcp_listener listener;
  connection* connections = nullptr;
  shard_metrics metrics;
  // Set when it starts serving. seq_cst with `stopping`: shutdown() either sees it set (and stops
  // the shard on its worker) or the shard sees `stopping` when it starts (and stops itself).
  weft::detail::atomic<weft::detail::worker*> home{nullptr};

  /// Stops accepting and closes the idle connections: on `home`'s thread.
  void stop() noexcept {
    listener.close();
    for (connection* c = connections; c != nullptr; c = c->next) {
      if (c->idle) c->socket->close();
    }
  }
};

struct detail::server_state {
  router routes;
  server_options options;
  std::vector<std::unique_ptr<shard>> shards = [] {
    std::vector<std::unique_ptr<shard>> v;
    v.push_back(std::make_unique<shard>());
    return v;
  }();
  weft::detail::atomic<std::size_t> count{0};
  weft::detail::atomic<bool> stopping{false};
  weft::detail::atomic<bool> accept_error_logged{false};

  void link(shard& sh, connection* c) noexcept {
    c->next = sh.connections;
    if (sh.connections != nullptr) sh.connections->prev = c;
    sh.connections = c;
    count.fetch_add(1, std::memory_order_relaxed);
  }
  void unlink(shard& sh, connection* c) noexcept {
    if (c->prev != nullptr) c->prev->next = c->next;
    else sh.connections = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    count.fetch_sub(1, std::memory_order_relaxed);
  }
  bool is_stopping() const noexcept { return stopping.load(std::memory_order_acquire); }
};

namespace {

using state_ptr = std::shared_ptr<detail::server_state>;

/// The response to a request no route takes: 404, or 405 with the methods that would match.
response routing_miss(std::string_view allow) {
  if (allow.empty()) return response::text(404, "Not Found\n");
  response r = response::text(405, "Method Not Allowed\n");
  r.headers.add("Allow", allow);
  return r;
}

void report_handler_exception(const server_options& opt, const request& req, std::exception_ptr e) noexcept {
  try {
    if (opt.on_handler_exception) {
      opt.on_handler_exception(req, e);
      return;
    }
    std::string what = exception_message(e);
    std::fprintf(stderr, "weft http: handler for %s %s threw: %s\n", req.method.c_str(), req.target.c_str(),
                 what.c_str());
  } catch (...) {
  }
}

/// What serving a request needs besides the socket. Kept in a small per-loop pool so that busy
/// connections reuse its allocations while idle ones hold none of it.
struct burst_state {
  explicit burst_state(const detail::parse_limits& limits) : parser(limits) {}
  detail::request_parser parser;
  request req;
  std::string pending;  // bytes read but not parsed yet (pipelined requests)
  std::string out;      // responses not yet written
  std::string allow;
};

class burst_pool {
 public:
  std::unique_ptr<burst_state> take(const detail::parse_limits& limits) {
    if (free_.empty()) return std::make_unique<burst_state>(limits);
    std::unique_ptr<burst_state> b = std::move(free_.back());
    free_.pop_back();
    b->parser.reuse(limits);
    return b;
  }
  void give_back(std::unique_ptr<burst_state> b) {
    // Keep a bounded number, and none that grew large (a big body or a long pipeline).
    if (free_.size() < max_kept && b->req.body.capacity() <= 64 * 1024 && b->out.capacity() <= 64 * 1024) {
      b->pending.clear();
      b->out.clear();
      free_.push_back(std::move(b));
    }
  }

 private:
  static constexpr std::size_t max_kept = 256;
  std::vector<std::unique_ptr<burst_state>> free_;
};

burst_pool& loop_burst_pool() {
  thread_local burst_pool pool;
  return pool;
}

/// How a connection's bytes travel: straight over TCP, or through TLS. serve_burst is written once
/// against this shape and compiled for both; the TCP one adds nothing to the plain socket calls.
/// Every write gives up once it makes no progress for `send_timeout` (a client that stopped reading).
struct tcp_transport {
  net::tcp_stream& s;
  clock::duration send_timeout;
  result<std::size_t> try_read(std::span<char> b) noexcept { return s.try_read_some(b); }
  auto read(std::span<char> b, clock::duration timeout) noexcept { return s.read_some(b, timeout); }
  auto write(std::string_view d) noexcept { return s.write_all(d, send_timeout); }
  auto write(std::span<const std::string_view> parts) noexcept { return s.write_all(parts, send_timeout); }
  auto wait_idle(clock::duration timeout) noexcept { return s.wait_readable(timeout); }
  int fd() const noexcept { return s.native_handle(); }
  static constexpr bool encrypted = false;
  task<void> finish() {
    (void)s.shutdown_write();
    co_return;
  }
};

struct tls_transport {
  net::tls_stream& s;
  clock::duration send_timeout;
  result<std::size_t> try_read(std::span<char> b) noexcept { return s.try_read_some(b); }
  task<result<std::size_t>> read(std::span<char> b, clock::duration timeout) { return s.read_some(b, timeout); }
  task<result<void>> write(std::string_view d) { return s.write_all(d, send_timeout); }
  task<result<void>> write(std::span<const std::string_view> parts) { return s.write_all(parts, send_timeout); }
  task<result<void>> wait_idle(clock::duration timeout) { return s.wait_readable(timeout); }
  int fd() const noexcept { return s.lower().native_handle(); }  // the TCP socket under the records
  auto wait_socket_edge() noexcept { return s.lower().wait_read_edge(); }  // leave_watch's, under TLS
  static constexpr bool encrypted = true;
  task<void> finish() { co_await s.shutdown(); }
};

/// Ends a connection whose client may still be sending (after an error status, or a response to a
/// request whose bytes were not all read): shuts down the write side, then reads and discards for a
/// bounded time and volume. Closing with unread bytes would make the kernel send a reset, which can
/// overtake the response on its way and leave the client with an error instead of the status.
template <class Transport>
task<void> linger(Transport io, const server_options& opt) {
  co_await io.finish();
  if (opt.lingering_time <= clock::duration::zero()) co_return;
  clock::time_point until = weft::deadline_after(clock::now(), opt.lingering_time);
  std::size_t discarded = 0;
  while (discarded < opt.lingering_bytes) {
    clock::duration left = until - clock::now();
    if (left <= clock::duration::zero()) break;
    auto n = co_await io.read(std::span<char>(loop_read_buffer(), read_buffer_size), left);
    if (!n || *n == 0) break;  // the client closed (it has read the response), timed out, or reset
    discarded += *n;
  }
}

/// Answers an error status after whatever `out` holds, then ends the connection: it closes, so the
/// client may still be sending.
template <class Transport>
task<void> refuse(Transport io, std::string& out, int status, std::string_view reason, const server_options& opt) {
  detail::write_error(status, reason, out);
  auto written = co_await io.write(std::string_view(out));
  out.clear();
  if (written) co_await linger(io, opt);
}

task<void> reject_busy(net::tcp_stream s, const server_options& opt) {
  std::string out;
  co_await refuse(tcp_transport{s, opt.send_timeout}, out, 503, "Service Unavailable: too many connections", opt);
}

/// How long the next read of a request body may wait: body_timeout, and no later than its pace allows
/// (body_timeout from the body's first wait, plus a second per min_body_rate bytes received). A client
/// that dribbles a byte at a time keeps each read short of body_timeout, but not the pace.
class body_pace {
 public:
  clock::duration next_wait(const server_options& opt) {
    clock::time_point now = clock::now();
    if (start_ == clock::time_point{}) start_ = now;
    if (opt.min_body_rate == 0) return opt.body_timeout;
    auto earned = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(static_cast<double>(bytes_) / static_cast<double>(opt.min_body_rate)));
    clock::time_point due = weft::deadline_after(weft::deadline_after(start_, opt.body_timeout), earned);
    return std::clamp(due - now, clock::duration(1), opt.body_timeout);
  }
  void received(std::size_t n) noexcept { bytes_ += n; }

 private:
  clock::time_point start_{};
  std::size_t bytes_ = 0;
};

/// Sends a streamed body straight to the connection: framed as chunks when `chunked`, else as raw bytes
/// under the handler's Content-Length, which it must match exactly.
template <class Transport>
class stream_writer final : public body_writer {
 public:
  stream_writer(Transport t, bool chunked, std::optional<std::size_t> length) noexcept
      : t_(t), chunked_(chunked), length_(length) {}
  task<result<void>> write(std::string_view data) override {
    if (data.empty()) co_return result<void>{};  // an empty chunk would end the body
    if (!chunked_) {
      // More than declared would be read as the start of the next response: refuse it.
      if (length_ && written_ + data.size() > *length_) co_return fail(errc::too_large);
      written_ += data.size();
      co_return co_await t_.write(data);
    }
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::array<std::string_view, 3> parts{std::string_view(size, static_cast<std::size_t>(n)), data, "\r\n"};
    co_return co_await t_.write(std::span<const std::string_view>(parts));
  }
  /// The body as written frames the message: chunked, or exactly the declared length.
  bool complete() const noexcept { return chunked_ || !length_ || written_ == *length_; }

 private:
  Transport t_;
  bool chunked_;
  std::optional<std::size_t> length_;
  std::size_t written_ = 0;
};

/// Writes and clears `out`; false if the connection is gone.
template <class Transport>
task<bool> flush(Transport t, std::string& out) {
  if (out.empty()) co_return true;
  auto w = co_await t.write(std::string_view(out));
  out.clear();
  co_return w.has_value();
}

/// A streamed request body (route_options::stream_body), read through the connection's parser: bytes
/// pending from earlier reads first, then reads into the loop's buffer.
template <class Transport>
class connection_body_reader final : public body_reader {
 public:
  connection_body_reader(detail::request_parser& parser, std::string& pending, std::size_t& pending_at,
                         Transport io, const server_options& opt, bool& sent_continue, body_pace& pace) noexcept
      : parser_(parser), pending_(pending), pending_at_(pending_at), io_(io), opt_(opt), sent_continue_(sent_continue),
        pace_(pace) {}

  task<result<std::string_view>> next() override {
    for (;;) {
      if (!parser_.chunk().empty()) {
        held_.swap(parser_.chunk());
        parser_.chunk().clear();
        co_return std::string_view(held_);
      }
      if (parser_.message_done()) co_return std::string_view{};
      if (broken_) co_return fail(errc::closed);
      auto parsed = detail::request_parser::state::need_more;
      if (pending_at_ < pending_.size()) {
        std::size_t used = 0;
        parsed = parser_.feed(pending_.data() + pending_at_, pending_.size() - pending_at_, used);
        pending_at_ += used;
      } else {
        pending_.clear();
        pending_at_ = 0;
        if (parser_.wants_continue() && !sent_continue_) {
          sent_continue_ = true;
          auto w = co_await io_.write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
          if (!w) {
            broken_ = true;
            co_return fail(w.error());
          }
        }
        char* buf = loop_read_buffer();
        auto n = co_await io_.read(std::span<char>(buf, read_buffer_size), pace_.next_wait(opt_));
        if (!n || *n == 0) {
          broken_ = true;
          co_return fail(n ? std::error_code(errc::end_of_stream) : n.error());
        }
        pace_.received(*n);
        std::size_t used = 0;
        parsed = parser_.feed(buf, *n, used);
        // lifetime: what follows the body in this read belongs to the next request; keep it.
        if (parsed == detail::request_parser::state::complete) pending_.assign(buf + used, *n - used);
      }
      if (parsed == detail::request_parser::state::failed) {
        broken_ = true;
        co_return fail(std::make_error_code(std::errc::protocol_error));
      }
    }
  }

  /// The connection can no longer be trusted to carry another request.
  bool broken() const noexcept { return broken_; }

 private:
  detail::request_parser& parser_;
  std::string& pending_;
  std::size_t& pending_at_;
  Transport io_;
  const server_options& opt_;
  bool& sent_continue_;
  body_pace& pace_;
  std::string held_;
  bool broken_ = false;
};

/// Asked by the parser at the end of each header section: does this request's route stream its body?
bool route_streams_body(const void* routes, const request& req) noexcept {
  return static_cast<const router*>(routes)->streams_body(req.method, req.path());
}

/// With the trace on: the request as a span inside its connection's task, "METHOD /path", with its
/// status and sizes (a streamed body's size is not known here, and left out: nullopt).
void trace_request(const request& req, int status, std::optional<std::size_t> request_bytes,
                   std::optional<std::size_t> response_bytes, clock::time_point began, clock::time_point answered) {
  weft::detail::worker* w = weft::detail::current_worker();
  std::string label = req.method;
  label.append(" ").append(req.path());
  std::string args = "\"status\":" + std::to_string(status);
  if (request_bytes) args += ",\"request_bytes\":" + std::to_string(*request_bytes);
  if (response_bytes) args += ",\"response_bytes\":" + std::to_string(*response_bytes);
  auto steady = [](clock::time_point t) {
    return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch()));
  };
  w->tracer()->span(w->running_task(), steady(began), steady(answered), label, args);
}

/// A handler as a task of its own, for request_timeout: leave_watch (which see) around it.
template <class Transport>
task<response> watched(Transport io, int fd, task<response> handler, bool& left) {
  co_return co_await detail::leave_watch<Transport>(io, fd, std::move(handler), left);
}

/// Serves requests while they keep coming: from a connection that has something to read until it
/// has nothing more (the next read would block). Returns true if the connection should stay open.
template <class Transport>
task<bool> serve_burst(detail::server_state& st, connection& conn, Transport io) {
  const server_options& opt = st.options;
  struct pooled {
    std::unique_ptr<burst_state> b;
    ~pooled() { loop_burst_pool().give_back(std::move(b)); }
  } hold{loop_burst_pool().take({opt.max_header_bytes, opt.max_request_line, opt.max_body_bytes, opt.max_header_fields})};
  burst_state& b = *hold.b;
  detail::request_parser& parser = b.parser;
  request& req = b.req;
  std::string& pending = b.pending;
  std::string& out = b.out;
  std::size_t pending_at = 0;
  req.remote = conn.remote;
  req.over_tls = std::is_same_v<Transport, tls_transport>;
  parser.set_stream_probe(st.routes.any_streaming() ? &route_streams_body : nullptr, &st.routes);

  for (;;) {
    parser.start(req);
    bool sent_continue = false;
    clock::time_point head_deadline{};
    body_pace pace;
    // A clock read per request only when there is a request deadline to keep.
    clock::time_point request_due =
        opt.request_timeout > clock::duration::zero() ? weft::deadline_after(clock::now(), opt.request_timeout) : clock::time_point{};
    // Parse one request: first from what is pending, then from reads into the loop's buffer.
    for (;;) {
      auto parsed = detail::request_parser::state::need_more;
      if (pending_at < pending.size()) {
        std::size_t used = 0;
        parsed = parser.feed(pending.data() + pending_at, pending.size() - pending_at, used);
        pending_at += used;
        if (parsed == detail::request_parser::state::complete || parsed == detail::request_parser::state::head) {
          break;
        }
      }
      if (parsed != detail::request_parser::state::failed) {
        pending.clear();
        pending_at = 0;
        if (!out.empty()) {
          auto w = co_await io.write(std::string_view(out));
          out.clear();
          if (!w) co_return false;
        }
        if (parser.wants_continue() && !sent_continue) {
          sent_continue = true;
          auto w = co_await io.write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
          if (!w) co_return false;
        }
        char* buf = loop_read_buffer();
        result<std::size_t> n;
        if (!parser.in_message()) {
          if (st.is_stopping()) co_return false;
          // Between requests: read only what is already there; if nothing is, the burst is over.
          n = io.try_read(std::span<char>(buf, read_buffer_size));
          if (!n && n.error() == std::errc::operation_would_block) co_return true;
        } else {
          clock::duration wait;
          if (!parser.headers_done()) {
            // Counted from the first wait for more of the head: a clock read only for requests that
            // do not arrive whole.
            if (head_deadline == clock::time_point{}) head_deadline = weft::deadline_after(clock::now(), opt.headers_timeout);
            wait = std::max(head_deadline - clock::now(), clock::duration(1));
          } else {
            wait = pace.next_wait(opt);
          }
          // request_timeout runs from the request's first byte: reading its head and body counts.
          if (request_due != clock::time_point{}) wait = std::min(wait, std::max(request_due - clock::now(), clock::duration(1)));
          n = co_await io.read(std::span<char>(buf, read_buffer_size), wait);
          if (!n && n.error() == errc::timed_out) {
            conn.home->metrics.refused(rejection::request_timeout, 408);
            co_await refuse(io, out, 408, "request timeout", opt);
            co_return false;
          }
          if (n && parser.headers_done()) pace.received(*n);
        }
        if (!n || *n == 0) co_return false;  // reset, closed by shutdown, cancelled, or the client left
        std::size_t used = 0;
        parsed = parser.feed(buf, *n, used);
        if (parsed == detail::request_parser::state::complete || parsed == detail::request_parser::state::head) {
          // lifetime: the loop's buffer is reused by whichever connection reads next, so what is
          // left of this read must move into the connection before anything can suspend.
          pending.assign(buf + used, *n - used);
          break;
        }
      }
      if (parsed == detail::request_parser::state::failed) {
        conn.home->metrics.refused(parser.error_status());
        co_await refuse(io, out, parser.error_status(), parser.error_reason(), opt);
        co_return false;
      }
    }

    // The poll that brought the head's last bytes: free to read, and where the client's wait began
    // as far as this loop can tell. The trace reads the clock instead: that poll may come before the
    // connection's task began (its first request), and a span must lie within its task.
    weft::detail::worker* loop = weft::detail::current_worker();
    clock::time_point began = loop->tracer() != nullptr ? clock::now() : loop->loop_now();
    connection_body_reader<Transport> body(parser, pending, pending_at, io, opt, sent_continue, pace);
    if (parser.streaming()) req.body_stream = &body;
    b.allow.clear();
    const handler* h = st.routes.find(req, b.allow);
    response resp;
    bool overdue = false;  // the handler ran past request_timeout and was cancelled
    bool left = false;     // the client closed or reset while the handler ran (leave_watch.hpp)
    if (h == nullptr) {
      resp = routing_miss(b.allow);
    } else {
      std::exception_ptr failure;
      // Watched for the client leaving once the request has been read whole (a handler reading a
      // streamed body reads the socket itself); under TLS too (leave_watch.hpp says how).
      int watched_fd = parser.message_done() ? io.fd() : -1;
      try {
        if (request_due == clock::time_point{}) {
          resp = co_await detail::leave_watch<Transport>(io, watched_fd, (*h)(req), left);
        } else {
          // The deadline as it is (the request deadline is on by default: no clock read nor frame of
          // weft::timeout's own per request).
          auto answered = co_await weft::detail::timeout_awaitable<response>(
              watched(io, watched_fd, (*h)(req), left), request_due);
          if (answered) {
            resp = std::move(*answered);
          } else {
            overdue = true;
            conn.home->metrics.rejected[static_cast<std::size_t>(rejection::handler_timeout)].add();
            resp = response::text(503, "Service Unavailable: the request took too long\n");
          }
        }
      } catch (...) {
        failure = std::current_exception();
      }
      if (left) {
        // Nobody to answer: the connection closes now, whatever the cancelled handler made of it.
        conn.home->metrics.abandoned.add();
        co_return false;
      }
      if (failure) {
        report_handler_exception(opt, req, failure);
        resp = response::text(500, "Internal Server Error\n");
      }
      if (const char* problem = detail::response_problem(resp)) {
        report_handler_exception(opt, req, std::make_exception_ptr(std::invalid_argument(problem)));
        resp = response::text(500, "Internal Server Error\n");
      }
    }
    req.body_stream = nullptr;
    bool refused_continue = parser.wants_continue() && !sent_continue;  // answered without the body
    if (parser.streaming() && !refused_continue) {
      // Read and discard what the handler left of its body, up to max_body_bytes; past that (or on a
      // broken body) the connection closes after the response.
      std::size_t drained = 0;
      while (!parser.message_done() && !body.broken() && drained <= opt.max_body_bytes) {
        auto piece = co_await body.next();
        if (!piece) break;
        drained += piece->size();
      }
    }
    // Known only now: whether the message ended cleanly (llhttp decides keep-alive at its end).
    bool head_only = std::string_view(req.method) == "HEAD";
    // HTTP/1.0 knows no chunked: a streamed body without a length ends where the connection does.
    bool http10 = req.version_minor == 0;
    bool close_delimited = http10 && resp.stream && !head_only && detail::status_has_body(resp.status) &&
                           !detail::declared_length(resp);
    bool keep_alive = parser.message_done() && parser.keep_alive() && !body.broken() && !overdue &&
                      !st.is_stopping() && !close_delimited;
    // (After refusing a 100-continue body, the client may still send it: closing is the safe answer.)
    // A large body goes out from the response itself, behind the head and what is pending, never copied
    // into `out`; the request's body is let go first. A client that stops reading then holds one copy
    // of the response, not the request's body, the response's and the copy.
    bool body_apart = !resp.stream && !head_only && detail::status_has_body(resp.status) &&
                      resp.body.size() >= flush_threshold;
    bool chunked = detail::write_response(resp, keep_alive, head_only, http10, out, body_apart);
    // (For the trace: the bodies may be let go before it is written.)
    std::optional<std::size_t> request_bytes, response_bytes;
    if (!parser.streaming()) request_bytes = req.body.size();
    if (!resp.stream) response_bytes = resp.body.size();
    shard_metrics& counters = conn.home->metrics;
    counters.responded(resp.status);
    if (body_apart) {
      std::string().swap(req.body);
      std::array<std::string_view, 2> parts{std::string_view(out), std::string_view(resp.body)};
      auto sent = co_await io.write(std::span<const std::string_view>(parts));
      out.clear();
      std::string().swap(resp.body);
      if (!sent) co_return false;
    }
    if (resp.stream && !head_only && detail::status_has_body(resp.status)) {
      auto flushed = co_await flush(io, out);
      if (!flushed) co_return false;
      stream_writer<Transport> writer(io, chunked, detail::declared_length(resp));
      // The body is cut short (an error, a throw, overdue, a length not kept): closing is the only
      // honest signal left, and it ends this connection only.
      std::exception_ptr failure;
      bool streamed = false;
      try {
        if (request_due == clock::time_point{}) {
          auto r = co_await resp.stream(writer);
          streamed = r.has_value();
        } else {
          auto r = co_await weft::timeout(request_due - clock::now(), resp.stream(writer));
          streamed = r.has_value();
        }
      } catch (...) {
        failure = std::current_exception();
      }
      if (failure) report_handler_exception(opt, req, failure);
      if (!streamed || !writer.complete()) co_return false;
      if (chunked) {
        auto ended = co_await io.write(std::string_view("0\r\n\r\n"));
        if (!ended) co_return false;
      }
    }
    clock::time_point answered = clock::now();
    counters.latency.record(answered - began);
    if (weft::detail::current_worker()->tracer() != nullptr) [[unlikely]] {
      trace_request(req, resp.status, request_bytes, response_bytes, began, answered);
    }
    if (!keep_alive) {
      // Always a lingering close: bytes of this request, or of requests after it, may be unread or still
      // on their way, and they may come after the last read (while the response was being written). A
      // client that reads the response and closes ends the lingering at once.
      if (co_await flush(io, out)) co_await linger(io, opt);
      co_return false;
    }
    if (out.size() >= flush_threshold) {
      auto flushed = co_await flush(io, out);
      if (!flushed) co_return false;
    }
  }
}

/// Alternates between serving bursts and waiting, holding nothing but the socket, for the next.
template <class Transport>
task<void> serve_bursts(detail::server_state& st, connection& conn, Transport io) {
  for (;;) {
    bool open = co_await serve_burst(st, conn, io);
    if (!open || st.is_stopping()) co_return;
    conn.idle = true;
    auto ready = co_await io.wait_idle(st.options.keep_alive_timeout);
    conn.idle = false;
    if (!ready) co_return;  // idle timeout, closed by shutdown, cancelled
  }
}

/// A connection's task, for its whole life.
task<void> serve_connection(state_ptr st, shard& sh, net::tcp_stream stream) {
  connection conn;
  conn.home = &sh;
  conn.socket = &stream;
  conn.idle = false;  // busy: its first burst comes first
  st->link(sh, &conn);
  struct unlink_on_exit {
    detail::server_state* s;
    shard* sh;
    connection* c;
    ~unlink_on_exit() { s->unlink(*sh, c); }
  } guard{st.get(), &sh, &conn};
  (void)stream.set_nodelay(true);
  if (st->options.send_buffer_bytes != 0) (void)stream.set_send_buffer(st->options.send_buffer_bytes);
  if (auto peer = stream.remote_endpoint()) conn.remote = *peer;

  if (!st->options.tls) {
    co_await serve_bursts(*st, conn, tcp_transport{stream, st->options.send_timeout});
    co_return;
  }
  auto tls = co_await net::tls_stream::accept(std::move(stream), *st->options.tls, st->options.headers_timeout);
  if (!tls) co_return;  // a failed handshake costs only this connection
  conn.socket = &tls->lower();
  co_await serve_bursts(*st, conn, tls_transport{*tls, st->options.send_timeout});
}

}  // namespace

server::server(router routes, server_options options) : s_(std::make_shared<detail::server_state>()) {
  s_->routes = std::move(routes);
  s_->options = options;
}

server::~server() = default;

namespace {

/// True when the calling task runs on a runtime of several workers.
std::size_t current_workers() noexcept {
  weft::detail::worker* w = weft::detail::current_worker();
  return w != nullptr && w->shared() != nullptr ? w->shared()->size() : 1;
}

/// One shard's accept loop, on its own worker, until shutdown; then its connections drain.
task<void> serve_shard(state_ptr st, shard& sh) {
  sh.home.store(weft::detail::current_worker(), std::memory_order_seq_cst);
  if (st->stopping.load(std::memory_order_seq_cst)) sh.stop();  // shutdown() came before this shard started
  task_group group(task_group::policy::collect_all);
  while (!st->is_stopping()) {
    auto accepted = co_await sh.listener.accept();
    if (!accepted) {
      std::error_code ec = accepted.error();
      if (ec == errc::closed || ec == errc::operation_canceled || st->is_stopping()) break;
      if (out_of_descriptors(ec)) {
        if (!st->accept_error_logged.exchange(true)) {
          (st->options.on_accept_error != nullptr ? st->options.on_accept_error : &log_accept_error)(ec);
        }
        auto slept = co_await sleep_for(accept_backoff);
        if (!slept) break;  // cancelled
      }
      continue;
    }
    sh.metrics.accepted.add();
    if (st->count.load(std::memory_order_relaxed) >= st->options.max_connections) {
      sh.metrics.refused(rejection::too_many_connections, 503);
      group.spawn(reject_busy(std::move(*accepted), st->options)).detach();
      continue;
    }
    // Named only when traced: a name costs an allocation per connection.
    std::string_view name = weft::detail::current_worker()->tracer() != nullptr ? "http connection" : "";
    group.spawn(name, serve_connection(st, sh, std::move(*accepted))).detach();
  }
  st->stopping.store(true, std::memory_order_release);
  sh.stop();
  auto drained = co_await timeout(st->options.shutdown_grace, group.join());
  (void)drained;  // timed out: the group was cancelled, and every connection has ended now
}

}  // namespace

result<void> server::listen(const net::endpoint& at) {
  // With several workers, one listener per worker on the same port (the first binds it, maybe to port
  // 0, and lets the others in). The shards are fixed from here on: shutdown() may read them from any
  // thread.
  std::size_t n = current_workers();
  net::listen_options lo;
  lo.reuse_port = n > 1;
  lo.backlog = s_->options.backlog;
  auto first = net::tcp_listener::bind(at, lo);
  if (!first) return fail(first.error());
  auto bound = first->local_endpoint();
  if (!bound) return fail(bound.error());
  std::vector<std::unique_ptr<shard>> shards;
  shards.push_back(std::make_unique<shard>());
  shards.back()->listener = std::move(*first);
  for (std::size_t i = 1; i < n; ++i) {
    auto l = net::tcp_listener::bind(*bound, lo);
    if (!l) return fail(l.error());
    shards.push_back(std::make_unique<shard>());
    shards.back()->listener = std::move(*l);
  }
  s_->shards = std::move(shards);
  return {};
}

net::endpoint server::local_endpoint() const {
  auto ep = s_->shards.front()->listener.local_endpoint();
  return ep ? *ep : net::endpoint{};
}

std::size_t server::connections() const noexcept { return s_->count.load(std::memory_order_relaxed); }

server_metrics server::metrics() const {
  server_metrics m;
  m.connections_open = s_->count.load(std::memory_order_relaxed);
  for (const auto& sh : s_->shards) {
    const shard_metrics& c = sh->metrics;
    m.connections_accepted += c.accepted.get();
    m.abandoned += c.abandoned.get();
    for (std::size_t i = 0; i < m.responses.size(); ++i) m.responses[i] += c.responses[i].get();
    for (std::size_t i = 0; i < rejection_count; ++i) m.rejected[i] += c.rejected[i].get();
    c.latency.read(m.latency);
  }
  return m;
}

void server::shutdown() noexcept {
  state_ptr st = s_;
  if (st->stopping.exchange(true)) return;
  weft::detail::worker* here = weft::detail::current_worker();
  for (auto& sh : st->shards) {
    weft::detail::worker* home = sh->home.load(std::memory_order_seq_cst);
    if (home == nullptr) continue;  // not serving yet: it stops itself when it starts
    if (home == here) {
      sh->stop();
    } else {
      shard* target = sh.get();
      home->post([st, target] { target->stop(); });
    }
  }
}

task<void> server::serve() {
  state_ptr st = s_;
  if (st->shards.size() == 1) {
    co_await serve_shard(st, *st->shards.front());
    co_return;
  }
  weft::detail::scheduler* sched = weft::detail::current_worker()->shared();
  std::vector<join_handle<void>> running;
  for (std::size_t i = 0; i < st->shards.size(); ++i) {
    running.push_back(weft::detail::spawn_on(&sched->at(i), {}, nullptr, serve_shard(st, *st->shards[i]), true));
  }
  for (auto& r : running) co_await std::move(r);
}

}  // namespace weft::http
