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
// header fields over max_header_bytes → 431; a body over max_body_bytes → 413; headers not complete
// within headers_timeout → 408; bad framing (Content-Length with Transfer-Encoding, conflicting
// Content-Length, bad chunk sizes, NUL/CR/LF in fields, HTTP/1.1 without Host) → 400. Each of these
// answers and closes that connection; the others are unaffected. A connection idle for longer than
// keep_alive_timeout is closed silently. Beyond max_connections, new connections get 503 and are closed.
// If accepting fails for lack of descriptors (EMFILE/ENFILE), the server logs once, backs off and keeps
// serving the connections it has.
//
// Shutdown: shutdown() stops accepting, closes idle connections, lets requests in progress finish
// (their responses carry `Connection: close`), and after shutdown_grace cancels whatever remains.
// serve() returns once every connection is gone.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

#include "weft/error.hpp"
#include "weft/http/router.hpp"
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
  clock::duration body_timeout = std::chrono::seconds(60);       // between two reads of a body
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

 private:
  // Shared with every connection task, so that a runtime shutdown may destroy them in any order.
  std::shared_ptr<detail::server_state> s_;
};

}  // namespace weft::http
