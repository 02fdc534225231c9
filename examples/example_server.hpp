// An HTTP server on a thread of its own and an ephemeral loopback port, for examples that need a peer.
//
// Its default routes are the two httpbin endpoints the seed's scenarios use, answering as httpbin does:
// `GET /delay/{seconds}` waits, then returns JSON with the request's headers (names in Title-Case, so
// `request-id` comes back as "Request-Id"); `GET /get` answers at once. `weft demo` passes the full
// httpbin API instead.
#pragma once

#include <weft/weft.hpp>

#include <cstdlib>
#include <future>
#include <string>
#include <thread>

namespace example {

/// "request-id" → "Request-Id", as httpbin (Werkzeug) spells header names.
inline std::string title_case(std::string_view name) {
  std::string out(name);
  bool start = true;
  for (char& c : out) {
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!start && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    start = c == '-';
  }
  return out;
}

/// `{"headers": {...}, "url": "..."}` for `req`, JSON-escaped enough for header values from examples.
inline std::string echo_json(const weft::http::request& req) {
  std::string json = "{\n  \"headers\": {";
  const char* sep = "\n";
  for (auto [name, value] : req.headers) {
    json += sep;
    json += "    \"" + title_case(name) + "\": \"";
    for (char c : value) {
      if (c == '"' || c == '\\') json += '\\';
      json += c;
    }
    json += '"';
    sep = ",\n";
  }
  json += "\n  },\n  \"url\": \"" + std::string(req.target) + "\"\n}\n";
  return json;
}

inline weft::http::router delay_routes() {
  weft::http::router routes;
  routes.get("/delay/{seconds}", [](weft::http::request& req) -> weft::task<weft::http::response> {
    double s = std::atof(std::string(req.param("seconds").value_or("0")).c_str());
    co_await weft::sleep_for(std::chrono::duration_cast<weft::clock::duration>(std::chrono::duration<double>(s)));
    co_return weft::http::response::json(200, echo_json(req));
  });
  routes.get("/get", [](weft::http::request& req) -> weft::task<weft::http::response> {
    co_return weft::http::response::json(200, echo_json(req));
  });
  return routes;
}

class server {
 public:
  explicit server(weft::http::router routes = delay_routes()) {
    std::promise<std::string> base;
    auto ready = base.get_future();
    thread_ = std::thread([this, &base, routes = std::move(routes)]() mutable {
      weft::run(serve(std::move(routes), base));
    });
    base_ = ready.get();
  }
  ~server() {
    server_->shutdown();
    thread_.join();
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// "http://127.0.0.1:PORT"
  const std::string& base() const { return base_; }

 private:
  weft::task<void> serve(weft::http::router routes, std::promise<std::string>& base) {
    weft::http::server s(std::move(routes));
    if (!s.listen({weft::net::ip_address::loopback_v4(), 0})) std::abort();
    server_ = &s;
    base.set_value("http://" + s.local_endpoint().to_string());
    co_await s.serve();
  }

  std::thread thread_;
  weft::http::server* server_ = nullptr;
  std::string base_;
};

}  // namespace example
