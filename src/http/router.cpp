#include "weft/http/router.hpp"

namespace weft::http {

namespace {

/// Splits "/a/b/" into {"a", "b", ""}; "/" gives {""}.
std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

router& router::add(std::string method, std::string_view pattern, handler h, route_options options) {
  route r{std::move(method), {}, std::move(h), options};
  any_streaming_ = any_streaming_ || options.stream_body;
  for (std::string_view s : split(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
  return *this;
}

router& router::fallback(handler h) {
  fallback_ = std::move(h);
  return *this;
}

bool router::match(const route& r, std::string_view path, request* fill) {
  // Walks the path one segment at a time, without splitting it into a container: routing a request
  // allocates nothing unless it captures parameters.
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string_view rest = path;
  bool exhausted = false;  // every segment, including a last empty one, has been taken
  for (std::size_t i = 0; i < r.segments.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (seg == "*" && i + 1 == r.segments.size()) {
      if (fill != nullptr) fill->params.emplace_back("*", exhausted ? std::string_view{} : rest);
      return true;
    }
    if (exhausted) return false;
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      exhausted = true;
    } else {
      rest.remove_prefix(slash + 1);
    }
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      if (part.empty()) return false;
      if (fill != nullptr) fill->params.emplace_back(seg.substr(1, seg.size() - 2), part);
    } else if (seg != part) {
      return false;
    }
  }
  return exhausted;
}

bool router::streams_body(std::string_view method, std::string_view path) const {
  for (const route& r : routes_) {
    bool method_ok = r.method.empty() || r.method == method || (r.method == "GET" && method == "HEAD");
    if (method_ok && match(r, path, nullptr)) return r.options.stream_body;
  }
  return false;
}

const handler* router::find(request& req, std::string& allow) const {
  std::string_view path = req.path();
  for (const route& r : routes_) {
    bool method_ok = r.method.empty() || r.method == req.method || (r.method == "GET" && req.method == "HEAD");
    if (!match(r, path, nullptr)) continue;
    if (method_ok) {
      req.params.clear();
      match(r, path, &req);
      return &r.h;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (allow.empty() && fallback_) return &fallback_;
  return nullptr;
}

}  // namespace weft::http
