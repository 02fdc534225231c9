// An HTTP/1.1 client: connection pools per origin with keep-alive, timeouts, and errors as values.
//
//     weft::http::client http;
//     weft::http::headers id;
//     id.add("request-id", "7");                 // (a braced list here would meet g++ 12's coroutine bug)
//     auto r = co_await http.get("http://127.0.0.1:8080/delay/1", std::move(id));
//     if (!r) std::printf("failed: %s\n", r.error().message().c_str());  // refused, reset, timed out, ...
//     else std::printf("%d %s\n", r->status, r->body.c_str());
//
// Requests to one origin (scheme, host, port) share its pool: a connection whose response has been
// read completely goes back to the pool and carries a later request, until the server closes it,
// says `Connection: close`, or its idle time (the server's `Keep-Alive: timeout=N`, at most
// client_options::idle_timeout) runs out; expired idle connections close when the pool is next used.
// At most max_connections_per_host requests to one origin are in flight; the others wait their turn,
// and a cancelled request gives its slot back wherever the cancel cuts it. A request on a pooled
// connection that the server had closed meanwhile (nothing received) is sent again once on a fresh one
// if its method is idempotent. A broken response never returns its connection to the pool, and a
// plain-TCP connection the server wrote to unasked while it idled is dropped when next taken (its bytes
// would be read as the next response). If the server answers before it has taken the whole request
// body (a 413, say) and resets the connection, that answer is returned, not the reset. More than 16
// interim (1xx) responses before the final one are `errc::bad_response`.
//
// https:// URLs go through TLS (weft/net/tls.hpp), verifying the server's certificate and name against
// the system's trust store, or client_options::tls.
//
// Errors: the kernel's (`std::errc::connection_refused`, `std::errc::connection_reset`),
// `errc::host_not_found`, `errc::timed_out`, `errc::tls_handshake_failed`, `errc::bad_response` (not
// HTTP, or bad framing: a bad chunk size, conflicting lengths), `errc::end_of_stream` (the server closed
// before the response ended), `errc::too_large` (past the client's limits), `errc::invalid_argument`
// (a URL weft cannot use), `errc::too_many_redirects`, `errc::operation_canceled`. Nothing throws on a bad server.
//
// A client may be shared by tasks on every worker of a runtime (its pools are locked); it must outlive
// the requests made through it, and be destroyed (or close_idle() be called) before the runtime it
// was used on: its idle connections belong to that runtime's loops.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "weft/error.hpp"
#include "weft/http/headers.hpp"
#include "weft/net/tls.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::http {

/// An absolute http:// or https:// URL, split.
struct url {
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< a name or an address (an IPv6 one without its brackets)
  std::uint16_t port = 0;
  std::string target;  ///< path and query, at least "/"

  /// Parses "http://host[:port][/path][?query]". `errc::invalid_argument` for anything else.
  static result<url> parse(std::string_view text);
  /// "scheme://host:port": the key of a connection pool.
  std::string origin() const;
  /// The URL as text: "scheme://host[:port]/target" (the port only where it is not the default).
  std::string to_string() const;
  /// Where a redirect's `Location` leads from this URL: absolute ("https://b/x"), scheme-relative
  /// ("//b/x"), absolute-path ("/x") or relative ("x", next to this URL's last segment).
  result<url> resolve(std::string_view location) const;
  /// The Host header's value: the host, with the port unless it is the scheme's default.
  std::string host_header() const;
};

struct client_options {
  /// Requests in flight to one origin at most (each on a connection of its own); the rest wait.
  std::size_t max_connections_per_host = 256;
  /// Resolving the name and connecting (and the TLS handshake).
  clock::duration connect_timeout = std::chrono::seconds(10);
  /// From the request sent to the response's header section received; and between two reads of its body.
  clock::duration response_timeout = std::chrono::seconds(30);
  /// Writing the request (its head and body): a write that makes no progress for this long, to a
  /// server that does not read, fails with `errc::timed_out`.
  clock::duration send_timeout = std::chrono::seconds(30);
  /// The whole request, waiting for a connection included. Zero: none.
  clock::duration total_timeout = clock::duration::zero();
  /// How long an idle connection stays in the pool (a server's shorter Keep-Alive timeout wins).
  clock::duration idle_timeout = std::chrono::seconds(30);
  /// Redirects (301, 302, 303, 307, 308 with a Location) followed at most; 0: a redirect is returned
  /// as the response. One more is `errc::too_many_redirects`. 303 (and 301/302 after a POST) go on as
  /// GET without the body, as browsers do; 307 and 308 repeat the method and body. Authorization and
  /// Cookie headers are not sent on to another origin.
  int max_redirects = 0;
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  /// For https://; default: verify against the system's trust store.
  std::optional<net::tls_context> tls;
};

/// A request to send: the method, an absolute URL, header fields and a body.
struct client_request {
  std::string method = "GET";
  std::string url;
  http::headers headers;  ///< Host and Content-Length are added; others as given
  std::string body;
};

/// A complete response.
struct client_response {
  int status = 0;
  int version_minor = 1;  ///< HTTP/1.<minor>
  http::headers headers;
  http::headers trailers;  ///< a chunked body's trailer fields, apart from the headers
  std::string body;  ///< decoded: a chunked body arrives de-chunked
};

/// A response whose body is read as it arrives (client::open): for a body too big to hold at once, or
/// to act on each piece as it comes (lines of a stream, events).
///
///     auto s = co_await http.open(std::move(req));
///     if (!s) co_return;                          // as send(): refused, timed out, bad response, ...
///     for (;;) {
///       auto piece = co_await s->next();          // errors as send()'s, at any point of the body
///       if (!piece || piece->empty()) break;      // empty: the body has ended
///       consume(*piece);
///     }
///
/// A stream holds its connection and its origin's permit. The connection returns to the pool once the
/// body has been read to its end; a stream dropped before that closes it. max_body_bytes does not apply
/// (the reader takes what it wants); response_timeout bounds each read; total_timeout covers open().
class response_stream {
 public:
  int status = 0;
  int version_minor = 1;
  http::headers headers;

  /// The next piece of the body, as it arrived (de-chunked): valid until the next call. Empty once the
  /// body has ended.
  task<result<std::string_view>> next();
  /// The body has been read to its end.
  bool done() const noexcept;

  response_stream(response_stream&&) noexcept;
  response_stream& operator=(response_stream&&) noexcept;
  ~response_stream();

  struct impl;

 private:
  friend class client;
  explicit response_stream(std::unique_ptr<impl> x);
  std::unique_ptr<impl> x_;
  std::string piece_;
};

class client {
 public:
  explicit client(client_options options = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends `req` and reads the whole response (see the top of this header for pooling and errors).
  task<result<client_response>> send(client_request req);
  /// Sends `req` and returns once the response's header section has arrived; its body is then read
  /// with response_stream::next(). Redirects are returned as they are.
  task<result<response_stream>> open(client_request req);
  /// GET `url` with `headers` added.
  task<result<client_response>> get(std::string url, http::headers headers = {});
  /// POST `body` to `url`, with `headers` added (say the Content-Type there).
  task<result<client_response>> post(std::string url, std::string body, http::headers headers = {});
  /// PUT `body` to `url`, with `headers` added.
  task<result<client_response>> put(std::string url, std::string body, http::headers headers = {});
  /// DELETE `url` (spelt as router::del).
  task<result<client_response>> del(std::string url, http::headers headers = {});
  /// HEAD `url`: the response's header section alone (its Content-Length describes a body not sent).
  task<result<client_response>> head(std::string url, http::headers headers = {});

  /// Connections open now, idle in the pools or in use.
  std::size_t open_connections() const noexcept;
  /// Closes every idle connection (those in use close when their request ends).
  void close_idle() noexcept;

  struct state;

 private:
  std::shared_ptr<state> s_;
};

}  // namespace weft::http
