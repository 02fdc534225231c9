// The httpbin 0.7 API on weft's server: what `weft serve` answers.
//
// Response shapes follow httpbin (Flask + Werkzeug): header names in Werkzeug's Title-Case
// ("Request-Id"), repeated query arguments as lists, `origin` from X-Forwarded-For or the peer,
// CORS headers on every response. JSON keys come out sorted, as Flask's jsonify sorts them.
#include "httpbin.hpp"

#include <weft/weft.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "json_text.hpp"
#include "text_util.hpp"

namespace weft::tool {

namespace {

using json = nlohmann::json;
using http::handler;
using http::request;
using http::response;

constexpr std::size_t max_random_bytes = 100 * 1024;

// Headers httpbin hides unless `show_env` is among the arguments (they describe its hosting).
constexpr std::string_view env_headers[] = {
    "X-Varnish", "X-Request-Start", "X-Heroku-Queue-Depth", "X-Real-Ip", "X-Forwarded-Proto",
    "X-Forwarded-Protocol", "X-Forwarded-Ssl", "X-Heroku-Queue-Wait-Time", "X-Forwarded-For",
    "X-Heroku-Dynos-In-Use", "X-Forwarded-Port", "X-Request-Id", "Via", "Total-Route-Time", "Connect-Time"};

std::mt19937_64& rng() {
  thread_local std::mt19937_64 r{std::random_device{}()};
  return r;
}

/// Query or form pairs as httpbin shows them: one value as a string, repeats as a list.
json semiflatten(const pairs& kv) {
  json out = json::object();
  for (const auto& [k, v] : kv) {
    if (!out.contains(k)) {
      out[k] = v;
    } else {
      if (!out[k].is_array()) out[k] = json::array({out[k]});
      out[k].push_back(v);
    }
  }
  return out;
}

json headers_of(const request& req) {
  bool show_env = false;
  for (const auto& [k, v] : parse_query(req.query())) show_env = show_env || k == "show_env";
  json out = json::object();
  for (auto [name, value] : req.headers) {
    std::string key = title_case(name);
    bool hidden = std::any_of(std::begin(env_headers), std::end(env_headers),
                              [&](std::string_view h) { return h == key; });
    if (hidden && !show_env) continue;
    // A WSGI server joins repeated fields with a comma.
    if (out.contains(key)) {
      out[key] = out[key].get<std::string>() + "," + std::string(value);
    } else {
      out[key] = std::string(value);
    }
  }
  return out;
}

std::string origin_of(const request& req) {
  if (auto f = req.headers.get("X-Forwarded-For")) return std::string(*f);
  return req.remote.address.to_string();
}

std::string url_of(const request& req) {
  std::string scheme = req.over_tls ? "https" : "http";
  if (auto p = req.headers.get("X-Forwarded-Proto")) {
    scheme = *p;
  } else if (auto q = req.headers.get("X-Forwarded-Protocol")) {
    scheme = *q;
  } else if (req.headers.get("X-Forwarded-Ssl") == "on") {
    scheme = "https";
  }
  return scheme + "://" + std::string(req.headers.get("Host").value_or("localhost")) + req.target;
}

bool is_form(const request& req) {
  auto ct = req.headers.get("Content-Type").value_or("");
  return ct.substr(0, 33) == "application/x-www-form-urlencoded";
}

/// httpbin's get_dict: the request described by the given keys.
json describe(const request& req, std::initializer_list<std::string_view> keys) {
  json out = json::object();
  for (std::string_view k : keys) {
    if (k == "url") out["url"] = url_of(req);
    if (k == "args") out["args"] = semiflatten(parse_query(req.query()));
    if (k == "headers") out["headers"] = headers_of(req);
    if (k == "origin") out["origin"] = origin_of(req);
    if (k == "method") out["method"] = req.method;
    if (k == "files") out["files"] = json::object();
    if (k == "form") out["form"] = is_form(req) ? semiflatten(parse_query(req.body)) : json::object();
    if (k == "data") {
      if (is_form(req)) {
        out["data"] = "";
      } else if (valid_utf8(req.body)) {
        out["data"] = req.body;
      } else {
        out["data"] = "data:application/octet-stream;base64," + base64_encode(req.body);
      }
    }
    if (k == "json") {
      json parsed = json::parse(req.body, nullptr, false);
      out["json"] = (is_form(req) || parsed.is_discarded()) ? json(nullptr) : parsed;
    }
  }
  return out;
}

response json_response(const json& body, int status = 200) {
  return response::json(status, json_text(body, 2) + "\n");
}

/// httpbin's status_code(): the bodies and headers it gives particular codes.
response status_response(int code) {
  response r{code, {}, {}, {}};
  // httpbin replaces the whole header set for the codes it gives headers, Content-Type included.
  switch (code) {
    case 301: case 302: case 303: case 305: case 307:
      r.headers.add("Location", "/redirect/1");
      break;
    case 401:
      r.headers.add("WWW-Authenticate", "Basic realm=\"Fake Realm\"");
      break;
    case 402:
      r.body = "Fuck you, pay me!";
      r.headers.add("x-more-info", "http://vimeo.com/22053820");
      break;
    case 406:
      r.headers.add("Content-Type", "application/json");
      r.body = json{{"message", "Client did not request a supported media type."},
                    {"accept", {"image/webp", "image/svg+xml", "image/jpeg", "image/png", "image/*"}}}
                   .dump();  // ASCII only
      break;
    case 407:
      r.headers.add("Proxy-Authenticate", "Basic realm=\"Fake Realm\"");
      break;
    case 418:
      r.body = "\n    -=[ teapot ]=-\n\n       _...._\n     .'  _ _ `.\n    | .\"` ^ `\". _,\n    \\_;`\"---\"`|//\n"
               "      |       ;/\n      \\_     _/\n        `\"\"\"`\n";
      r.headers.add("x-more-info", "http://tools.ietf.org/html/rfc2324");
      break;
    default:
      r.headers.add("Content-Type", "text/html; charset=utf-8");
      break;
  }
  return r;
}

std::optional<long> to_long(std::string_view s) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::string_view> arg(const request& req, std::string_view name, pairs& storage) {
  storage = parse_query(req.query());
  for (const auto& [k, v] : storage) {
    if (http::iequals(k, name)) return v;
  }
  return std::nullopt;
}

response plain(int status, std::string body) {
  response r{status, {}, std::move(body), {}};
  r.headers.add("Content-Type", "text/plain; charset=utf-8");
  return r;
}

response bad_request(std::string_view why) { return plain(400, std::string(why)); }

/// Random bytes; with ?seed=N the same N gives the same bytes (not Python's sequence).
std::string random_bytes(const request& req, std::size_t n) {
  pairs kv;
  std::mt19937_64 seeded;
  std::mt19937_64* gen = &rng();
  if (auto seed = arg(req, "seed", kv)) {
    seeded.seed(static_cast<std::uint64_t>(to_long(*seed).value_or(0)));
    gen = &seeded;
  }
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>((*gen)() & 0xff);
  return out;
}

task<response> get(request& req) { co_return json_response(describe(req, {"url", "args", "headers", "origin"})); }

task<response> body_echo(request& req) {
  co_return json_response(describe(req, {"url", "args", "form", "data", "origin", "headers", "files", "json"}));
}

task<response> anything(request& req) {
  co_return json_response(
      describe(req, {"url", "args", "headers", "origin", "method", "form", "data", "files", "json"}));
}

task<response> delay(request& req) {
  auto seconds = to_double(*req.param("seconds"));
  if (!seconds || *seconds < 0) co_return bad_request("delay must be a non-negative number of seconds");
  auto d = std::chrono::duration<double>(std::min(*seconds, 10.0));
  co_await sleep_for(std::chrono::duration_cast<clock::duration>(d));
  co_return json_response(describe(req, {"url", "args", "form", "data", "origin", "headers", "files"}));
}

task<response> status(request& req) {
  // "418", or a weighted random choice: "200,500:0.1".
  std::vector<std::pair<int, double>> choices;
  std::string_view codes = *req.param("codes");
  while (!codes.empty()) {
    auto comma = codes.find(',');
    std::string_view c = codes.substr(0, comma);
    codes = comma == std::string_view::npos ? std::string_view{} : codes.substr(comma + 1);
    double weight = 1;
    if (auto colon = c.find(':'); colon != std::string_view::npos) {
      auto w = to_double(c.substr(colon + 1));
      if (!w) co_return bad_request("Invalid status code");
      weight = *w;
      c = c.substr(0, colon);
    }
    auto code = to_long(c);
    if (!code || *code < 100 || *code > 999) co_return bad_request("Invalid status code");
    choices.emplace_back(static_cast<int>(*code), weight);
  }
  if (choices.empty()) co_return bad_request("Invalid status code");
  double total = 0;
  for (auto& c : choices) total += c.second;
  double pick = std::uniform_real_distribution<double>(0, total)(rng());
  for (auto& [code, weight] : choices) {
    if (pick < weight) co_return status_response(code);
    pick -= weight;
  }
  co_return status_response(choices.back().first);
}

task<response> bytes(request& req) {
  auto n = to_long(*req.param("n"));
  if (!n || *n < 0) co_return bad_request("n must be a non-negative integer");
  response r{200, {}, random_bytes(req, std::min<std::size_t>(static_cast<std::size_t>(*n), max_random_bytes)), {}};
  r.headers.add("Content-Type", "application/octet-stream");
  co_return r;
}

task<response> stream_bytes(request& req) {
  auto n = to_long(*req.param("n"));
  if (!n || *n < 0) co_return bad_request("n must be a non-negative integer");
  pairs kv;
  std::size_t chunk = 10 * 1024;
  if (auto c = arg(req, "chunk_size", kv)) chunk = static_cast<std::size_t>(std::max(1L, to_long(*c).value_or(1)));
  auto data = std::make_shared<std::string>(random_bytes(req, std::min<std::size_t>(static_cast<std::size_t>(*n), max_random_bytes)));
  response r{200, {}, {}, {}};
  r.headers.add("Content-Type", "application/octet-stream");
  r.stream = [data, chunk](http::body_writer& w) -> task<result<void>> {
    for (std::size_t at = 0; at < data->size(); at += chunk) {
      auto ok = co_await w.write(std::string_view(*data).substr(at, chunk));
      if (!ok) co_return ok;
    }
    co_return result<void>{};
  };
  co_return r;
}

task<response> stream_json(request& req) {
  auto n = to_long(*req.param("n"));
  if (!n || *n < 0) co_return bad_request("n must be a non-negative integer");
  auto base = std::make_shared<json>(describe(req, {"url", "args", "headers", "origin"}));
  long count = std::min(*n, 100L);
  response r{200, {}, {}, {}};
  r.headers.add("Content-Type", "application/json");
  r.stream = [base, count](http::body_writer& w) -> task<result<void>> {
    for (long i = 0; i < count; ++i) {
      (*base)["id"] = i;
      auto ok = co_await w.write(json_text(*base) + "\n");
      if (!ok) co_return ok;
    }
    co_return result<void>{};
  };
  co_return r;
}

task<response> drip(request& req) {
  pairs kv;
  double duration = to_double(arg(req, "duration", kv).value_or("2")).value_or(-1);
  long numbytes = std::min(to_long(arg(req, "numbytes", kv).value_or("10")).value_or(-1), 10L * 1024 * 1024);
  long code = to_long(arg(req, "code", kv).value_or("200")).value_or(-1);
  double initial = to_double(arg(req, "delay", kv).value_or("0")).value_or(-1);
  if (numbytes <= 0) co_return bad_request("number of bytes must be positive");
  if (duration < 0 || initial < 0 || code < 100 || code > 999) co_return bad_request("invalid drip parameters");
  // The delay is capped as /delay's is (10 s): a request must not hold a slot for as long as its client
  // asks. (The body's own pace, `duration`, is the stream's, which the request timeout bounds.)
  initial = std::min(initial, 10.0);
  if (initial > 0) co_await sleep_for(std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(initial)));
  response r{static_cast<int>(code), {}, {}, {}};
  r.headers.add("Content-Type", "application/octet-stream");
  r.headers.add("Content-Length", std::to_string(numbytes));
  auto pause = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(duration / static_cast<double>(numbytes)));
  r.stream = [numbytes, pause](http::body_writer& w) -> task<result<void>> {
    for (long i = 0; i < numbytes; ++i) {
      auto ok = co_await w.write("*");
      if (!ok) co_return ok;
      co_await sleep_for(pause);
    }
    co_return result<void>{};
  };
  co_return r;
}

task<response> range(request& req) {
  auto n = to_long(*req.param("n"));
  long total = n.value_or(0);
  response r = plain(200, "");
  r.headers.add("ETag", "range" + std::to_string(total));
  r.headers.add("Accept-Ranges", "bytes");
  if (total <= 0 || total > static_cast<long>(max_random_bytes)) {
    r.status = 404;
    r.body = "number of bytes must be in the range (0, 102400]";
    co_return r;
  }
  long first = 0;
  long last = total - 1;
  if (auto h = req.headers.get("Range"); h && h->substr(0, 6) == "bytes=") {
    std::string_view spec = h->substr(6);
    auto dash = spec.find('-');
    auto a = to_long(spec.substr(0, dash));
    auto b = dash == std::string_view::npos ? std::nullopt : to_long(spec.substr(dash + 1));
    if (a && b) {
      first = *a;
      last = *b;
    } else if (a) {
      first = *a;
    } else if (b) {
      first = std::max(0L, total - *b);
    }
  }
  if (first > last || first < 0 || last >= total) {
    r.status = 416;
    r.headers.add("Content-Range", "bytes */" + std::to_string(total));
    co_return r;
  }
  for (long i = first; i <= last; ++i) r.body += static_cast<char>('a' + i % 26);
  r.headers.set("Content-Type", "application/octet-stream");
  r.headers.add("Content-Range",
                "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(total));
  if (first != 0 || last != total - 1) r.status = 206;
  co_return r;
}

task<response> encoded(request& req, bool gzip) {
  json body = describe(req, {"origin", "headers"});
  body["method"] = req.method;
  body[gzip ? "gzipped" : "deflated"] = true;
  response r = json_response(body);
  r.body = compress(r.body, gzip);
  r.headers.add("Content-Encoding", gzip ? "gzip" : "deflate");
  co_return r;
}

task<response> base64(request& req) {
  auto decoded = base64_decode(*req.param("value"));
  if (!decoded) co_return bad_request("Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l");
  response r{200, {}, std::move(*decoded), {}};
  r.headers.add("Content-Type", "text/html; charset=utf-8");
  co_return r;
}

response redirect_to(std::string location) {
  response r{302, {}, {}, {}};
  r.headers.add("Content-Type", "text/html; charset=utf-8");
  r.body = "<!doctype html>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected "
           "automatically to the target URL: <a href=\"" + location + "\">" + location + "</a>. If not, click the link.\n";
  r.headers.add("Location", location);
  return r;
}

/// /redirect/{n}, /relative-redirect/{n}, /absolute-redirect/{n}: n hops, then /get.
handler redirects(bool absolute_by_default, std::string_view kind) {
  return [absolute_by_default, kind = std::string(kind)](request& req) -> task<response> {
    auto n = to_long(*req.param("n"));
    if (!n || *n < 1) co_return bad_request("n must be a positive integer");
    pairs kv;
    bool absolute = absolute_by_default;
    if (kind == "redirect") absolute = arg(req, "absolute", kv).value_or("false") == "true";
    std::string prefix = absolute ? "http://" + std::string(req.headers.get("Host").value_or("localhost")) : "";
    if (*n == 1) co_return redirect_to(prefix + "/get");
    co_return redirect_to(prefix + (absolute ? "/absolute-redirect/" : "/relative-redirect/") + std::to_string(*n - 1));
  };
}

task<response> basic_auth(request& req) {
  std::string user(*req.param("user"));
  std::string pass(*req.param("passwd"));
  auto auth = req.headers.get("Authorization").value_or("");
  bool ok = false;
  if (auth.substr(0, 6) == "Basic ") {
    if (auto decoded = base64_decode(auth.substr(6))) ok = *decoded == user + ":" + pass;
  }
  if (!ok) co_return status_response(401);
  co_return json_response(json{{"authenticated", true}, {"user", user}});
}

task<response> cookies(request& req) {
  json out = json::object();
  for (const auto& [k, v] : parse_cookies(req.headers.get("Cookie").value_or(""))) out[k] = v;
  co_return json_response(json{{"cookies", out}});
}

/// Adds httpbin's CORS headers to whatever `h` answers, and answers OPTIONS (preflight) itself.
handler with_cors(handler h) {
  return [h = std::move(h)](request& req) -> task<response> {
    response r;
    if (req.method == "OPTIONS") {
      r = response{200, {}, {}, {}};
      r.headers.add("Allow", "HEAD, OPTIONS, GET, POST, PUT, DELETE, PATCH, TRACE");
      r.headers.add("Content-Type", "text/html; charset=utf-8");
      r.headers.add("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, PATCH, OPTIONS");
      r.headers.add("Access-Control-Max-Age", "3600");
      if (auto want = req.headers.get("Access-Control-Request-Headers")) r.headers.add("Access-Control-Allow-Headers", *want);
    } else {
      r = co_await h(req);
    }
    r.headers.set("Access-Control-Allow-Origin", req.headers.get("Origin").value_or("*"));
    r.headers.set("Access-Control-Allow-Credentials", "true");
    r.headers.set("Server", "weft");
    co_return r;
  };
}

}  // namespace

http::router httpbin_routes() {
  http::router r;
  auto add = [&r](std::initializer_list<const char*> methods, std::string_view pattern, handler h) {
    handler wrapped = with_cors(std::move(h));
    for (const char* m : methods) r.add(m, pattern, wrapped);
    r.add("OPTIONS", pattern, wrapped);
  };
  const auto all = {"GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"};
  add({"GET"}, "/get", get);
  add({"POST"}, "/post", body_echo);
  add({"PUT"}, "/put", body_echo);
  add({"PATCH"}, "/patch", body_echo);
  add({"DELETE"}, "/delete", body_echo);
  add(all, "/anything/*", anything);
  add({"GET"}, "/headers", [](request& req) -> task<response> { co_return json_response(describe(req, {"headers"})); });
  add({"GET"}, "/ip", [](request& req) -> task<response> { co_return json_response(json{{"origin", origin_of(req)}}); });
  add({"GET"}, "/user-agent", [](request& req) -> task<response> {
    co_return json_response(json{{"user-agent", std::string(req.headers.get("User-Agent").value_or(""))}});
  });
  add({"GET"}, "/uuid", [](request&) -> task<response> {
    std::uniform_int_distribution<int> hex(0, 15);
    std::string id = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
    for (char& c : id) {
      if (c == 'x') c = "0123456789abcdef"[hex(rng())];
      if (c == 'y') c = "89ab"[hex(rng()) & 3];
    }
    co_return json_response(json{{"uuid", id}});
  });
  add(all, "/status/{codes}", status);
  add({"GET"}, "/delay/{seconds}", delay);
  add({"GET"}, "/bytes/{n}", bytes);
  add({"GET"}, "/stream-bytes/{n}", stream_bytes);
  add({"GET"}, "/stream/{n}", stream_json);
  add({"GET"}, "/drip", drip);
  add({"GET"}, "/range/{n}", range);
  add({"GET"}, "/gzip", [](request& req) { return encoded(req, true); });
  add({"GET"}, "/deflate", [](request& req) { return encoded(req, false); });
  add({"GET"}, "/base64/{value}", base64);
  add({"GET"}, "/redirect/{n}", redirects(false, "redirect"));
  add({"GET"}, "/relative-redirect/{n}", redirects(false, "relative"));
  add({"GET"}, "/absolute-redirect/{n}", redirects(true, "absolute"));
  add({"GET"}, "/cookies", cookies);
  add({"GET"}, "/basic-auth/{user}/{passwd}", basic_auth);
  return r;
}

}  // namespace weft::tool
