// HTTP/1.1 messages as a handler sees them.
//
//     weft::task<weft::http::response> hello(weft::http::request& req) {
//       auto r = weft::http::response::text(200, "Hello, " + std::string(req.query()));
//       r.headers.add("Cache-Control", "no-store");
//       co_return r;
//     }
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/error.hpp"
#include "weft/http/headers.hpp"
#include "weft/net/address.hpp"
#include "weft/task.hpp"

namespace weft::http {

/// The standard reason phrase of `status` ("OK", "Not Found"), or "Unknown".
std::string_view reason_phrase(int status) noexcept;

/// Where a streamed request body comes from (see route_options::stream_body).
class body_reader {
 public:
  virtual ~body_reader() = default;
  /// The next piece of the body (de-chunked), valid until the next call; empty at the end of the body.
  /// Errors: the connection's (reset, timed out) or errc::end_of_stream if the client stops mid-body.
  virtual task<result<std::string_view>> next() = 0;
};

struct request {
  std::string method;  // "GET", as sent (methods are case-sensitive)
  std::string target;  // the request-target as sent: "/path?query"
  int version_minor = 1;  // HTTP/1.<minor>
  http::headers headers;
  /// Fields of a chunked body's trailer section: apart from `headers`, never merged into them (a field
  /// checked in the header section cannot be added to afterwards). Complete once the body is.
  http::headers trailers;
  std::string body;  // decoded (chunked bodies arrive de-chunked); empty for a streamed body
  body_reader* body_stream = nullptr;  // set only for routes that stream their body
  net::endpoint remote;
  bool over_tls = false;  // the request came over HTTPS
  /// Path parameters captured by the router: "/delay/{n}" matching "/delay/3" gives {"n", "3"};
  /// a trailing "*" captures the rest of the path under "*".
  std::vector<std::pair<std::string, std::string>> params;

  /// The target up to '?'.
  std::string_view path() const noexcept { return std::string_view(target).substr(0, target.find('?')); }
  /// The target after '?', or empty.
  std::string_view query() const noexcept {
    auto q = target.find('?');
    return q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1);
  }
  /// A captured path parameter.
  std::optional<std::string_view> param(std::string_view name) const noexcept {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

/// Where a streamed response body goes (see response::stream).
class body_writer {
 public:
  virtual ~body_writer() = default;
  /// Sends `data` to the client now (one chunk of a chunked body). Errors: the connection's.
  virtual task<result<void>> write(std::string_view data) = 0;
};

/// Produces a response body piece by piece; return an error to abort (the connection is closed).
using body_producer = std::function<task<result<void>>(body_writer&)>;

struct response {
  int status = 200;
  http::headers headers;
  std::string body;
  /// When set, the body comes from this coroutine instead of `body`, sent as it is written: with
  /// `Transfer-Encoding: chunked`, or as is if the handler set a Content-Length (then it must write
  /// exactly that many bytes). Captures must stay valid until the response is sent.
  body_producer stream;

  /// A response with `Content-Type: text/plain`.
  static response text(int status, std::string body) {
    response r{status, {}, std::move(body), {}};
    r.headers.add("Content-Type", "text/plain");
    return r;
  }
  /// A response with `Content-Type: application/json`; `body` must already be JSON.
  static response json(int status, std::string body) {
    response r{status, {}, std::move(body), {}};
    r.headers.add("Content-Type", "application/json");
    return r;
  }
};

}  // namespace weft::http
