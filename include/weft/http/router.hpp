// Routing requests to handlers by method and path.
//
//     weft::http::router r;
//     r.get("/hello", [](weft::http::request&) -> weft::task<weft::http::response> {
//       co_return weft::http::response::text(200, "Hello, World!");
//     });
//     r.get("/delay/{seconds}", delay_handler);      // req.param("seconds")
//     r.any("/anything/*", echo_handler);            // "*" matches the rest of the path, "" included
//
// Patterns are matched segment by segment, in the order routes were added. A path that matches some
// route but not its method gets 405 with an `Allow` header; a path that matches none gets 404 (or the
// fallback handler, if one is set).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/http/message.hpp"
#include "weft/task.hpp"

namespace weft::http {

/// A request handler: a coroutine from request to response. An exception it throws becomes a 500.
using handler = std::function<task<response>(request&)>;

struct route_options {
  /// The handler runs as soon as the headers are in, and reads the body itself, piece by piece,
  /// from `req.body_stream` (`req.body` stays empty); server_options::max_body_bytes does not apply.
  /// Whatever it leaves unread is read and discarded before the next request.
  bool stream_body = false;
};

class router {
 public:
  /// Adds a route; `method` "" matches every method.
  router& add(std::string method, std::string_view pattern, handler h, route_options options = {});
  router& get(std::string_view pattern, handler h) { return add("GET", pattern, std::move(h)); }
  router& post(std::string_view pattern, handler h) { return add("POST", pattern, std::move(h)); }
  router& put(std::string_view pattern, handler h) { return add("PUT", pattern, std::move(h)); }
  router& patch(std::string_view pattern, handler h) { return add("PATCH", pattern, std::move(h)); }
  router& del(std::string_view pattern, handler h) { return add("DELETE", pattern, std::move(h)); }
  router& any(std::string_view pattern, handler h) { return add("", pattern, std::move(h)); }
  /// Handles what no route matches (instead of 404).
  router& fallback(handler h);

  /// Finds the handler for `req`, filling req.params; null if none. `allow` receives the methods that
  /// would match the path (for a 405), comma-separated.
  const handler* find(request& req, std::string& allow) const;
  /// Whether the route `method` and `path` would take streams its body (see route_options).
  bool streams_body(std::string_view method, std::string_view path) const;
  /// Whether any route streams its body (the server asks the question above only then).
  bool any_streaming() const noexcept { return any_streaming_; }

 private:
  struct route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" captures one segment, a final "*" the rest
    handler h;
    route_options options;
  };
  static bool match(const route& r, std::string_view path, request* fill);
  std::vector<route> routes_;
  handler fallback_;
  bool any_streaming_ = false;
};

}  // namespace weft::http
