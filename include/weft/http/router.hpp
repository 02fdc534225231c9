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

class router {
 public:
  /// Adds a route; `method` "" matches every method.
  router& add(std::string method, std::string_view pattern, handler h);
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

 private:
  struct route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" captures one segment, a final "*" the rest
    handler h;
  };
  static bool match(const route& r, std::string_view path, request* fill);
  std::vector<route> routes_;
  handler fallback_;
};

}  // namespace weft::http
