// An HTTP/1.1 server: keep-alive, pipelining, limits, timeouts and graceful shutdown.
//
//     weft::http::router routes;
//     routes.get("/", [](weft::http::request&) -> weft::task<weft::http::response> {
//       co_return weft::http::response::text(200, "Hello, World!");
//     });
//     weft::http::server server(std::move(routes));
//     if (auto r = server.listen(*weft::net::endpoint::parse("127.0.0.1:8080")); !r) { ... }
//     co_await server.serve();          // until server.shutdown()
//
// Each connection is a task. It parses requests with llhttp in strict mode and answers them in order:
// pipelined requests already in the buffer are answered together, with one write. Handlers run one at
// a time per connection, on the loop that accepted it.
//
// On a runtime of several workers (runtime_options::workers), listen() opens one listener per worker on
// the same port (SO_REUSEPORT) and serve() runs an accept loop on each: the kernel spreads connections
// over the workers, and each connection stays on its worker. Handlers then run on several threads at
// once and must be thread-safe; max_connections counts all workers' connections together.
//
// Limits (server_options) and what breaking one gives: a request line over max_request_line → 414;
// header fields over max_header_bytes, or more than max_header_fields of them → 431; a body over
// max_body_bytes → 413; headers not complete within headers_timeout, or a body that stalls for
// body_timeout or arrives slower than min_body_rate → 408; bad framing (Content-Length with
// Transfer-Encoding, conflicting Content-Length, bad chunk sizes, NUL/CR/LF in fields, HTTP/1.1 without
// Host; docs/design/http-server.md lists every rule) → 400. Each of these answers and closes that
// connection; the others are unaffected. A connection idle for longer than keep_alive_timeout is closed
// silently. Beyond max_connections, new connections get 503 and are closed. If accepting fails for lack
// of descriptors (EMFILE/ENFILE), the server logs once, backs off and keeps serving the connections it has.
//
// Hostile and broken peers:
// - A client that stops reading: a response write that makes no progress for send_timeout closes the
//   connection. Responses are written before more requests are read, so pipelined requests never pile
//   up responses in memory: a connection buffers at most one read (64 KiB) and its unsent responses
//   (written out once they pass 64 KiB, or once one response alone does). A response body of 64 KiB
//   or more goes out from the response itself, and the request's body is let go first, so a client
//   that never reads holds one copy of its answer; the kernel holds at most about twice
//   send_buffer_bytes more.
// - request_timeout (5 minutes by default) bounds a request from its first byte to the end of its
//   response: a handler still running then is cancelled and the client gets 503, or, if the response
//   has started, the connection closes.
// - Closing after a response (an error status: 400, 408, 413, 431, 503; or any response that is not
//   kept alive): the server shuts down its write side and reads and discards for up to lingering_time
//   and lingering_bytes, until the client closes. Closing with bytes unread would reset the connection,
//   and the reset can overtake the response: the client would get an error, or a truncated body.
// - The server owns the framing: a handler's Connection and Transfer-Encoding fields are dropped, its
//   Content-Length is replaced by the body's (kept only to frame a streamed body, which must then write
//   exactly that many bytes, or the connection closes); a field name that is not a token, or a name or
//   value holding CR, LF or NUL, turns the response into a 500 (no response splitting).
// - A handler or a streamed body that throws costs its own request or connection only.
//
// Shutdown: shutdown() stops accepting, closes idle connections, lets requests in progress finish
// (their responses carry `Connection: close`), and after shutdown_grace cancels whatever remains.
// serve() returns once every connection is gone.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

#include "weft/error.hpp"
#include "weft/http/router.hpp"
#include "weft/metrics.hpp"
#include "weft/net/address.hpp"
#include "weft/net/tls.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::http {

namespace detail {
struct server_state;
}

struct server_options {
  std::size_t max_header_bytes = 16 * 1024;  // Node's default (--max-http-header-size)
  std::size_t max_request_line = 8 * 1024;   // nginx's large_client_header_buffers
  std::size_t max_body_bytes = 1024 * 1024;  // nginx's client_max_body_size
  clock::duration headers_timeout = std::chrono::seconds(60);    // Node's headersTimeout
  clock::duration keep_alive_timeout = std::chrono::seconds(5);  // Node's keepAliveTimeout
  /// A request body that brings no byte for this long ends with 408 (nginx's client_body_timeout).
  clock::duration body_timeout = std::chrono::seconds(60);
  /// Past its first body_timeout, a body must keep arriving at this average rate, bytes per second (0: no
  /// minimum), or it ends with 408: a client dribbling a byte a second cannot hold its connection
  /// (Apache's mod_reqtimeout MinRate).
  std::size_t min_body_rate = 500;
  /// A response write that makes no progress for this long closes the connection (nginx's send_timeout).
  clock::duration send_timeout = std::chrono::seconds(60);
  /// The kernel's send buffer per connection (SO_SNDBUF; 0: the kernel's own, which grows to
  /// net.ipv4.tcp_wmem's maximum, 4 MiB on Debian). A client that stops reading holds at most about
  /// twice this in kernel memory until send_timeout closes it: with the kernel's own, a thousand such
  /// clients pushed TCP memory to its pressure limit and slowed every other connection. 256 KiB still
  /// fills a 100 Mbit/s link at 20 ms of round trip.
  std::size_t send_buffer_bytes = 256 * 1024;
  /// From a request's first byte to the end of its response (zero: no limit). A handler still running
  /// then is cancelled: 503, or the connection closes if the response has started. On by default, so
  /// that a handler stuck on something that never answers (a backend, a lock) frees its connection
  /// and its slot; 5 minutes is Node's requestTimeout. A server that streams for longer (a large
  /// download over a slow link, server-sent events) raises it, or sets zero.
  clock::duration request_timeout = std::chrono::minutes(5);
  /// Closing after a response, the server reads and discards what the client still sends for at most
  /// this long (zero: no lingering) and this many bytes, so the client sees the response rather than a
  /// reset (nginx's lingering_close).
  clock::duration lingering_time = std::chrono::seconds(5);
  std::size_t lingering_bytes = 16 * 1024 * 1024;
  /// Header fields per request (else 431): each costs a lookup on every header search.
  std::size_t max_header_fields = 100;  // Apache's LimitRequestFields
  std::size_t max_connections = 10'000;
  /// Connections the kernel queues before accept (capped by net.core.somaxconn): a burst of thousands
  /// of connects overflows a short queue, and each SYN dropped costs its client a 1 s retransmit.
  int backlog = 4096;
  clock::duration shutdown_grace = std::chrono::seconds(10);
  /// Called once when accepting first fails for lack of descriptors; default: a line on stderr.
  void (*on_accept_error)(const std::error_code& ec) = nullptr;
  /// When set, every connection is TLS (HTTPS): the handshake must finish within headers_timeout.
  std::optional<net::tls_context> tls;
  /// Called when a handler throws (the client gets a 500); default: method, target and what() on stderr.
  std::function<void(const request& req, std::exception_ptr error)> on_handler_exception;
};

/// Why the server answered a request (or a connection) itself with an error and closed.
enum class rejection {
  bad_request,           // 400: malformed, or framing the server will not guess at
  uri_too_long,          // 414: max_request_line
  headers_too_large,     // 431: max_header_bytes or max_header_fields
  body_too_large,        // 413: max_body_bytes
  request_timeout,       // 408: headers_timeout, body_timeout or min_body_rate
  too_many_connections,  // 503: max_connections
  handler_timeout,       // 503: request_timeout cut the handler short
};
inline constexpr std::size_t rejection_count = 7;
/// The rejection's name, as the Prometheus label writes it ("bad_request", ...).
std::string_view rejection_name(rejection r) noexcept;

/// A server's counters (server::metrics()), from its start, all workers together.
struct server_metrics {
  std::uint64_t connections_accepted = 0;
  std::size_t connections_open = 0;
  /// Responses by status class: [0] 1xx (not counting interim 100 Continue) ... [4] 5xx, those the
  /// server wrote itself included.
  std::array<std::uint64_t, 5> responses{};
  /// Each routed request's latency (a handler's, or a 404 or 405): from the loop's poll that found the
  /// last bytes of its head to its response in the connection's buffer (a streamed body: to its end).
  /// Refusals the server writes before routing (400, 408, 413, 414, 431, 503 busy) are not in it.
  duration_histogram latency;
  /// Rejections, indexed by `rejection`.
  std::array<std::uint64_t, rejection_count> rejected{};
  /// Requests whose client closed or reset the connection while their handler waited: the handler was
  /// cancelled and the connection closed, unanswered.
  std::uint64_t abandoned = 0;

  /// Responses of every class.
  std::uint64_t responses_total() const noexcept;
  std::uint64_t rejections(rejection r) const noexcept { return rejected[static_cast<std::size_t>(r)]; }
};

/// Appends `m` in the Prometheus text format: weft_http_server_* families.
void append_prometheus(std::string& out, const server_metrics& m);

class server {
 public:
  explicit server(router routes, server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens (call inside a runtime: on one of several workers, it listens once per worker).
  /// Errors: the kernel's (address in use, ...).
  result<void> listen(const net::endpoint& at);
  /// Where the server listens (useful after binding port 0).
  net::endpoint local_endpoint() const;

  /// Accepts and serves connections until shutdown() and the last connection ends.
  /// Cancelling the awaiting task is a hard stop: every connection is cancelled and closed.
  task<void> serve();

  /// Begins a graceful shutdown (see the top of this header). Safe to call from a handler.
  void shutdown() noexcept;

  /// Connections open now.
  std::size_t connections() const noexcept;

  /// A snapshot of the server's counters. Safe from any thread once listen() has returned (each worker
  /// keeps its own counters; see weft/metrics.hpp for how fresh they are).
  server_metrics metrics() const;

 private:
  // Shared with every connection task, so that a runtime shutdown may destroy them in any order.
  std::shared_ptr<detail::server_state> s_;
};

}  // namespace weft::http
