// The HTTP server against real clients on 127.0.0.1: curl, Python's urllib, Node's http (strict llhttp),
// and a raw socket for byte-exact bad input. Each bad-input case also checks that the server goes on
// serving a second, good connection.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "http_support.hpp"
#include "tls_support.hpp"
#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;
using test::exchange;
using test::expect_still_serving;
using test::good_request;
using test::raw_client;
using test::status_line;

namespace {

std::atomic<int> sleeping_handlers{0};  // /sleep handlers started, for tests that must act mid-request

/// How many /upload handlers have had their first piece (tests wait on it instead of sleeping).
std::atomic<int> upload_first_pieces{0};

http::router test_routes() {
  http::router r;
  r.get("/hello", [](http::request&) -> task<http::response> { co_return http::response::text(200, "Hello, World!"); });
  r.post("/echo", [](http::request& req) -> task<http::response> {
    http::response resp = http::response::text(200, req.body);
    resp.headers.add("X-Method", req.method);
    co_return resp;
  });
  r.get("/header/{name}", [](http::request& req) -> task<http::response> {
    auto v = req.headers.get(*req.param("name"));
    co_return http::response::text(200, std::string(v.value_or("<none>")));
  });
  r.get("/sleep/{ms}", [](http::request& req) -> task<http::response> {
    ++sleeping_handlers;
    co_await sleep_for(std::chrono::milliseconds(std::stoi(std::string(*req.param("ms")))));
    co_return http::response::text(200, "slept");
  });
  r.get("/chunks/{n}", [](http::request& req) -> task<http::response> {
    int n = std::stoi(std::string(*req.param("n")));
    http::response resp = http::response::text(200, "");
    resp.stream = [n](http::body_writer& w) -> task<result<void>> {
      for (int i = 0; i < n; ++i) {
        auto ok = co_await w.write("piece" + std::to_string(i) + ";");
        if (!ok) co_return ok;
        co_await sleep_for(1ms);
      }
      co_return result<void>{};
    };
    co_return resp;
  });
  r.add("POST", "/upload", [](http::request& req) -> task<http::response> {
    // Reports how many pieces and bytes arrived, and whether the body was still arriving when the
    // handler started (the first piece came before the whole body).
    std::size_t pieces = 0;
    std::size_t bytes = 0;
    std::string first;
    for (;;) {
      auto piece = co_await req.body_stream->next();
      if (!piece) co_return http::response::text(400, piece.error().message());
      if (piece->empty()) break;
      if (pieces == 0) {
        first = std::string(*piece);
        ++upload_first_pieces;
      }
      ++pieces;
      bytes += piece->size();
    }
    co_return http::response::text(200, std::to_string(pieces) + " " + std::to_string(bytes) + " " + first);
  }, {.stream_body = true});
  r.add("POST", "/trailers", [](http::request& req) -> task<http::response> {
    // Touches the headers while the body, and the trailer after it, are still arriving.
    for (;;) {
      auto piece = co_await req.body_stream->next();
      if (!piece) co_return http::response::text(400, piece.error().message());
      if (piece->empty()) break;
      http::headers moved = std::move(req.headers);
      req.headers = std::move(moved);
      req.headers.add("X-Handler", "seen");
    }
    auto value = [&](std::string_view name) { return std::string(req.headers.get(name).value_or("-")); };
    // The trailer field is kept apart: never merged into the headers the handler has checked.
    std::string trailer(req.trailers.get("X-Checksum").value_or("-"));
    co_return http::response::text(200, trailer + " " + value("X-Checksum") + " " + value("X-Handler") + " " +
                                            value("Host") + " " + std::to_string(req.headers.size()));
  }, {.stream_body = true});
  r.add("POST", "/ignore-body", [](http::request&) -> task<http::response> {
    co_return http::response::text(200, "ignored");
  }, {.stream_body = true});
  r.get("/throw", [](http::request&) -> task<http::response> {
    throw std::runtime_error("handler bug");
    co_return http::response::text(200, "unreachable");
  });
  return r;
}

}  // namespace

TEST(http_server, curl_get_and_keep_alive_reuse) {
  test::http_fixture srv(test_routes());
  int status = 0;
  std::string out = test::shell("curl -sS -w ' %{http_code} %{num_connects}' " + srv.url("/hello") + " " +
                                    srv.url("/hello"),
                                &status);
  EXPECT_EQ(status, 0);
  // Two responses over one connection: the second transfer needed no new connect.
  EXPECT_EQ(out, "Hello, World! 200 1Hello, World! 200 0");
}

TEST(http_server, curl_head_has_length_but_no_body) {
  test::http_fixture srv(test_routes());
  std::string out = test::shell("curl -sS -I " + srv.url("/hello"));
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 13"), std::string::npos);
  EXPECT_NE(out.find("Date: "), std::string::npos);
}

TEST(http_server, python_urllib_post_body) {
  test::http_fixture srv(test_routes());
  std::string script =
      "import urllib.request\n"
      "r = urllib.request.urlopen(urllib.request.Request('" + srv.url("/echo") +
      "', data=b'x' * 100000, method='POST'))\n"
      "b = r.read()\n"
      "print(r.status, len(b), b == b'x' * 100000, r.headers['X-Method'])\n";
  std::string out = test::shell("/usr/bin/python3 -c \"" + script + "\"");
  EXPECT_EQ(out, "200 100000 True POST\n");
}

TEST(http_server, node_http_client_with_strict_parser) {
  test::http_fixture srv(test_routes());
  std::string script =
      "const http = require('http');"
      "http.get('" + srv.url("/header/request-id") + "', {headers: {'Request-Id': '42'}}, res => {"
      "  let b = ''; res.on('data', d => b += d);"
      "  res.on('end', () => console.log(res.statusCode, b, res.headers['content-type']));"
      "}).on('error', e => { console.log('error', e.message); });";
  std::string out = test::shell("node -e \"" + script + "\"");
  EXPECT_EQ(out, "200 42 text/plain\n");
}

TEST(http_server, streamed_body_goes_out_chunked) {
  test::http_fixture srv(test_routes());
  std::string raw = exchange(srv.port(), "GET /chunks/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(raw.find("\r\n\r\n7\r\npiece0;\r\n7\r\npiece1;\r\n7\r\npiece2;\r\n0\r\n\r\n"), std::string::npos) << raw;
  // curl decodes it, over a kept-alive connection that then serves a second request.
  std::string out = test::shell("curl -sS " + srv.url("/chunks/2") + " " + srv.url("/hello"));
  EXPECT_EQ(out, "piece0;piece1;Hello, World!");
}

// An HTTP/1.0 client that asks for keep-alive is told it is kept (RFC 9112 §9.3): it would otherwise
// wait for the close (ab -k hung so). One that does not ask is closed, and says so.
TEST(http_server, http10_keep_alive_is_announced) {
  test::http_fixture srv(test_routes());
  raw_client c(srv.port());
  c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  std::string first = c.read_until("Hello, World!");
  EXPECT_NE(first.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << first;
  c.send("GET /hello HTTP/1.0\r\n\r\n");  // the same connection, and this time no keep-alive
  std::string second = c.read_all();
  EXPECT_NE(second.find("Hello, World!"), std::string::npos) << second;
  EXPECT_NE(second.find("\r\nConnection: close\r\n"), std::string::npos) << second;
}

TEST(http_server, pipelined_requests_answered_in_order) {
  test::http_fixture srv(test_routes());
  raw_client c(srv.port());
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    std::string body = "body" + std::to_string(i);
    batch += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  batch += good_request;
  c.send(batch);
  std::string all = c.read_all();
  auto b0 = all.find("body0");
  auto b1 = all.find("body1");
  auto b2 = all.find("body2");
  auto hello = all.find("Hello, World!");
  ASSERT_NE(b0, std::string::npos);
  ASSERT_NE(b1, std::string::npos);
  ASSERT_NE(b2, std::string::npos);
  ASSERT_NE(hello, std::string::npos);
  EXPECT_LT(b0, b1);
  EXPECT_LT(b1, b2);
  EXPECT_LT(b2, hello);
}

TEST(http_server, chunked_request_body_is_decoded) {
  test::http_fixture srv(test_routes());
  std::string r = exchange(srv.port(),
                           "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                           "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n");
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("\r\n\r\nhello, world"), std::string::npos);
}

TEST(http_server, expect_100_continue) {
  test::http_fixture srv(test_routes());
  raw_client c(srv.port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  std::string interim = c.read_until("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("ping");
  std::string r = c.read_all();
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("\r\n\r\nping"), std::string::npos);
}

TEST(http_server, routing_misses_and_handler_exceptions) {
  static std::atomic<int> reported{0};
  http::server_options o;
  o.on_handler_exception = [](const http::request& req, std::exception_ptr) {
    if (req.target == "/throw") ++reported;
  };
  test::http_fixture srv(test_routes(), o);
  EXPECT_EQ(status_line(exchange(srv.port(), "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), "HTTP/1.1 404 Not Found");
  std::string r = exchange(srv.port(), "DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_line(r), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(r.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_EQ(status_line(exchange(srv.port(), "GET /throw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")),
            "HTTP/1.1 500 Internal Server Error");
  EXPECT_EQ(reported.load(), 1);
  expect_still_serving(srv.port());
  // Routed, all four: counted by class and timed; none is a rejection.
  http::server_metrics m = srv.metrics();
  EXPECT_EQ(m.responses[1], 1u);
  EXPECT_EQ(m.responses[3], 2u);
  EXPECT_EQ(m.responses[4], 1u);
  EXPECT_EQ(m.latency.count(), 4u);
  for (std::size_t i = 0; i < http::rejection_count; ++i) EXPECT_EQ(m.rejected[i], 0u) << i;
}

struct bad_case {
  const char* name;
  std::string request;
  const char* status;
};

TEST(http_server, bad_framing_gets_400_and_close) {
  test::http_fixture srv(test_routes());
  std::vector<bad_case> cases = {
      {"content-length with transfer-encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      {"differing duplicate content-length",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "HTTP/1.1 400 Bad Request"},
      {"invalid chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      {"NUL in a header value", std::string("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 42),
       "HTTP/1.1 400 Bad Request"},
      {"bare LF line ending", "GET /hello HTTP/1.1\nHost: x\n\n", "HTTP/1.1 400 Bad Request"},
      {"bare CR in a header", "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"HTTP/1.1 without Host", "GET /hello HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "HTTP/1.1 400 Bad Request"},
      // RFC 9112 §5.2 and CVE-2024-27982: a folded line would hide a Content-Length from this hop.
      {"obs-fold after a field",
       "POST /echo HTTP/1.1\r\nHost: x\r\nFoo: bar\r\n Content-Length: 39\r\n\r\n"
       "GET /hello?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      {"obs-fold after an empty value", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Foo:\r\n b\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"obs-fold in a trailer",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      // RFC 9112 §3.2: one Host, and a valid one.
      {"two Host fields", "GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"Host with a space", "GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"Host with a bad port", "GET /hello HTTP/1.1\r\nHost: a:xyz\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"Host with userinfo", "GET /hello HTTP/1.1\r\nHost: u@a\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      // RFC 9112 §6.1: codings other than chunked are not implemented; never framed as chunked.
      {"gzip, chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 501 Not Implemented"},
      {"empty Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      {"Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      {"empty field name", "GET /hello HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      // RFC 9112 §3.2: no fragment; asterisk-form only for OPTIONS. No tunnels.
      {"fragment in the target", "GET /hello#f HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"asterisk-form GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", "HTTP/1.1 501 Not Implemented"},
      // RFC 9112 §3: one SP between the request line's parts (another hop may split on each space).
      {"two spaces before the target", "GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"two spaces before the version", "GET /hello  HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      // RFC 9112 §7.1.1: a chunk extension has a name.
      {"chunk extension without a name",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request"},
      // Bytes no callback sees still count: blank lines before the request line.
      {"a megabyte of blank lines", std::string(1 << 20, '\n') + "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 431 Request Header Fields Too Large"},
      {"a chunk larger than the body limit",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nhello\r\n",
       "HTTP/1.1 413 Payload Too Large"},
  };
  for (const bad_case& c : cases) {
    std::string r = exchange(srv.port(), c.request);
    EXPECT_EQ(status_line(r), c.status) << c.name;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << c.name;
    expect_still_serving(srv.port());
  }
}

TEST(http_server, absolute_form_targets_and_connection_close_with_trailing_whitespace) {
  test::http_fixture srv(test_routes());
  // A named chunk extension, with or without a value, is fine (and ignored).
  std::string ext = exchange(srv.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                         "Connection: close\r\n\r\n5;name=value\r\nhello\r\n1;flag\r\n!\r\n0\r\n\r\n");
  EXPECT_EQ(status_line(ext), "HTTP/1.1 200 OK") << ext;
  EXPECT_NE(ext.find("hello!"), std::string::npos) << ext;
  raw_client c(srv.port());
  // RFC 9112 §3.2.2: absolute-form MUST be accepted. "close<TAB>" is "close" (RFC 9110 §5.5).
  c.send("GET http://x/hello HTTP/1.1\r\nHost: x\r\nConnection: close\t\r\n\r\n");
  std::string r = c.read_all();
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK") << r;
  EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  EXPECT_NE(r.find("Hello, World!"), std::string::npos) << r;
  // The target's authority wins over the Host field.
  std::string h = exchange(srv.port(), "GET http://a.example/header/host HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_line(h), "HTTP/1.1 200 OK") << h;
  EXPECT_NE(h.find("\r\n\r\na.example"), std::string::npos) << h;
}

TEST(http_server, limits_give_431_414_413) {
  http::server_options o;
  o.max_body_bytes = 1000;
  test::http_fixture srv(test_routes(), o);
  std::string big_header = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_line(exchange(srv.port(), big_header)), "HTTP/1.1 431 Request Header Fields Too Large");
  std::string many = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_line(exchange(srv.port(), many + "\r\n")), "HTTP/1.1 431 Request Header Fields Too Large");
  std::string long_url = "GET /" + std::string(9 * 1024, 'u') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(status_line(exchange(srv.port(), long_url)), "HTTP/1.1 414 URI Too Long");
  std::string declared = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
  EXPECT_EQ(status_line(exchange(srv.port(), declared)), "HTTP/1.1 413 Payload Too Large");
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "190\r\n" + std::string(400, 'c') + "\r\n";
  EXPECT_EQ(status_line(exchange(srv.port(), chunked + "0\r\n\r\n")), "HTTP/1.1 413 Payload Too Large");
  expect_still_serving(srv.port());
  // Each refusal is counted by its reason, and as a 4xx response; only the routed request has a latency.
  http::server_metrics m = srv.metrics();
  EXPECT_EQ(m.rejections(http::rejection::headers_too_large), 2u);
  EXPECT_EQ(m.rejections(http::rejection::uri_too_long), 1u);
  EXPECT_EQ(m.rejections(http::rejection::body_too_large), 2u);
  EXPECT_EQ(m.rejections(http::rejection::bad_request), 0u);
  EXPECT_EQ(m.responses[3], 5u);
  EXPECT_EQ(m.responses[1], 1u);
  EXPECT_EQ(m.latency.count(), 1u);
  EXPECT_EQ(m.connections_accepted, 6u);
}

TEST(http_server, slow_headers_get_408_and_idle_connections_close) {
  http::server_options o;
  o.headers_timeout = 300ms;
  o.keep_alive_timeout = 300ms;
  test::http_fixture srv(test_routes(), o);
  {
    raw_client slow(srv.port());
    slow.send("GET /hello HTTP/1.1\r\nHo");  // never finishes its headers
    auto start = std::chrono::steady_clock::now();
    std::string r = slow.read_all();
    EXPECT_EQ(status_line(r), "HTTP/1.1 408 Request Timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  }
  {
    raw_client idle(srv.port());  // sends nothing: closed without a response
    EXPECT_EQ(idle.read_all(), "");
  }
  expect_still_serving(srv.port());
  http::server_metrics m = srv.metrics();
  EXPECT_EQ(m.rejections(http::rejection::request_timeout), 1u);  // the idle one was no request
  EXPECT_EQ(m.responses[3], 1u);
}

TEST(http_server, connection_limit_answers_503) {
  http::server_options o;
  o.max_connections = 2;
  test::http_fixture srv(test_routes(), o);
  raw_client a(srv.port());
  raw_client b(srv.port());
  // Wait until both are accepted and counted.
  for (int i = 0; i < 1000 && srv.on_loop([](http::server& s) { return s.connections(); }) < 2; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  std::string r = exchange(srv.port(), good_request);
  EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable");
  a.send(good_request);
  EXPECT_EQ(status_line(a.read_all()), "HTTP/1.1 200 OK");
  http::server_metrics m = srv.metrics();
  EXPECT_EQ(m.rejections(http::rejection::too_many_connections), 1u);
  EXPECT_EQ(m.responses[4], 1u);
  EXPECT_EQ(m.connections_accepted, 3u);
}

TEST(http_server, reset_mid_body_costs_only_that_connection) {
  test::http_fixture srv(test_routes());
  {
    raw_client c(srv.port());
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
    linger lg{1, 0};
    setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }  // closed with RST
  expect_still_serving(srv.port());
  for (int i = 0; i < 1000 && srv.on_loop([](http::server& s) { return s.connections(); }) > 0; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(srv.on_loop([](http::server& s) { return s.connections(); }), 0u);
}

TEST(http_server, graceful_shutdown_finishes_the_request_in_flight) {
  test::http_fixture srv(test_routes());
  raw_client busy(srv.port());
  raw_client idle(srv.port());
  int before = sleeping_handlers.load();
  busy.send("GET /sleep/300 HTTP/1.1\r\nHost: x\r\n\r\n");
  // Wait until the handler runs (the server has its own thread); bounded, for slow sanitizer builds.
  for (int i = 0; i < 1000 && sleeping_handlers.load() == before; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_GT(sleeping_handlers.load(), before);
  std::thread stopper([&] { srv.stop(); });
  std::string r = busy.read_all();
  stopper.join();
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_NE(r.find("slept"), std::string::npos);
  EXPECT_EQ(idle.read_all(), "");  // the idle connection was closed
  raw_client late(srv.port());
  EXPECT_FALSE(late.connected());  // no longer listening
}

namespace {
/// Options for an HTTPS server with the tests' certificate (test::pki()).
http::server_options https_options() {
  http::server_options o;
  auto ctx = net::tls_context::server(test::pki().cert, test::pki().key);
  EXPECT_TRUE(ctx.has_value());
  if (ctx) o.tls = *ctx;
  return o;
}

/// Runs a Python client whose socket `s` is connected over TLS (its ssl module, trusting test::pki())
/// to 127.0.0.1:port, then `steps`; what it printed, and its exit status in `status`.
std::string python_over_tls(std::uint16_t port, const std::string& steps, int& status) {
  std::string script = "import socket, ssl, time\n"
                       "c = ssl.create_default_context(cafile='" + test::pki().ca + "')\n"
                       "s = c.wrap_socket(socket.create_connection(('127.0.0.1', " + std::to_string(port) +
                       ")), server_hostname='localhost')\n" + steps;
  return test::shell("python3 -c \"" + script + "\" 2>&1", &status);
}
}  // namespace

TEST(http_server, https_with_curl_over_kept_alive_tls) {
  ASSERT_TRUE(test::pki().ok);
  test::http_fixture srv(test_routes(), https_options());
  std::string base = "https://localhost:" + std::to_string(srv.port());
  int status = 0;
  std::string out = test::shell("curl -sS --cacert " + test::pki().ca + " -w ' %{num_connects}' " + base + "/hello " +
                                    base + "/hello 2>&1",
                                &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "Hello, World! 1Hello, World! 0");
  // Plain HTTP to the TLS port is a failed handshake, and costs nothing else.
  raw_client plain(srv.port());
  plain.send(good_request);
  EXPECT_EQ(plain.read_all().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(test::shell("curl -sS --cacert " + test::pki().ca + " " + base + "/hello"), "Hello, World!");
}

// Over TLS too, a client that leaves while its handler waits is noticed: the handler is cancelled and
// the connection closed at once. A closing TLS client sends close_notify just before its FIN, so the
// socket holds bytes when the FIN comes (leave_watch.hpp). One client sends close_notify (Python's
// ssl, unwrap), one just goes (curl, cut short by --max-time).
TEST(http_server, https_client_that_leaves_while_its_handler_waits_is_noticed) {
  ASSERT_TRUE(test::pki().ok);
  test::http_fixture srv(test_routes(), https_options());
  int status = 0;
  std::string out = python_over_tls(srv.port(),
                                    "s.sendall(b'GET /sleep/60000 HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n')\n"
                                    "time.sleep(0.3)\n"
                                    "s.setblocking(False)\n"  // close_notify, then close at once (as browsers and curl do)
                                    "try:\n  s.unwrap()\nexcept ssl.SSLWantReadError:\n  pass\n"
                                    "s.close()\n",
                                    status);
  EXPECT_EQ(status, 0) << out;
  for (int i = 0; i < 200 && srv.metrics().abandoned < 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.metrics().abandoned, 1u) << "after close_notify and FIN";
  test::shell("curl -sS --max-time 0.5 --cacert " + test::pki().ca + " https://localhost:" + std::to_string(srv.port()) +
              "/sleep/60000 2>&1");
  for (int i = 0; i < 200 && srv.metrics().abandoned < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.metrics().abandoned, 2u) << "after curl gave up";
  for (int i = 0; i < 200 && srv.metrics().connections_open > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.metrics().connections_open, 0u);
}

// Over TLS, a request pipelined behind one whose handler waits is a record on the socket too, but no
// FIN follows it: not a leave. Both are answered, in order.
TEST(http_server, https_request_pipelined_behind_a_waiting_handler_is_not_a_leave) {
  ASSERT_TRUE(test::pki().ok);
  test::http_fixture srv(test_routes(), https_options());
  int status = 0;
  std::string out = python_over_tls(srv.port(),
                                    "s.sendall(b'GET /sleep/400 HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n')\n"
                                    "time.sleep(0.1)\n"
                                    "s.sendall(b'GET /hello HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n')\n"
                                    "got = b''\n"
                                    "while True:\n"
                                    "  b = s.recv(65536)\n"
                                    "  if not b: break\n"
                                    "  got += b\n"
                                    "print(got.count(b'HTTP/1.1 200'), got.find(b'Hello, World!') > 0)\n",
                                    status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "2 True\n");
  EXPECT_EQ(srv.metrics().abandoned, 0u);
}

TEST(http_server, out_of_descriptors_backs_off_and_keeps_serving) {
  static std::atomic<int> accept_errors{0};
  http::server_options o;
  o.on_accept_error = [](const std::error_code& ec) {
    if (ec == std::errc::too_many_files_open) ++accept_errors;
  };
  test::http_fixture srv(test_routes(), o);
  raw_client kept(srv.port());
  kept.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(kept.read_until("Hello, World!").find("200 OK"), std::string::npos);

  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  rlimit low = old;
  low.rlim_cur = 256;
  setrlimit(RLIMIT_NOFILE, &low);
  std::vector<int> fillers;
  for (int fd; (fd = dup(0)) >= 0;) fillers.push_back(fd);
  close(fillers.back());  // room for one client socket; none left for the server to accept it
  fillers.pop_back();
  raw_client waiting(srv.port());
  EXPECT_TRUE(waiting.connected());  // the kernel completes the handshake; accept() gets EMFILE
  waiting.send(good_request);
  for (int i = 0; i < 1000 && accept_errors.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(accept_errors.load(), 1);
  // The connection it already has is still served meanwhile.
  kept.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_line(kept.read_all()), "HTTP/1.1 200 OK");
  for (int fd : fillers) close(fd);
  setrlimit(RLIMIT_NOFILE, &old);
  // Once descriptors are free again, the waiting client is accepted and answered.
  EXPECT_EQ(status_line(waiting.read_all()), "HTTP/1.1 200 OK");
  EXPECT_EQ(accept_errors.load(), 1);  // logged once, not once per retry
}

TEST(http_server, streamed_request_bodies_arrive_piece_by_piece) {
  http::server_options o;
  o.max_body_bytes = 1000;  // does not apply to streamed bodies
  test::http_fixture srv(test_routes(), o);
  raw_client c(srv.port());
  int before = upload_first_pieces.load();
  c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
  // Once the handler has "first", the rest cannot join it: "first" is a piece of its own.
  for (int i = 0; i < 1000 && upload_first_pieces.load() == before; ++i) std::this_thread::sleep_for(5ms);
  std::string big(3000, 'b');
  c.send("BB8\r\n" + big + "\r\n0\r\n\r\n");
  // A second request, pipelined right after the streamed body, on the same connection.
  c.send("POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'i') +
         "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = c.read_all();
  auto first = all.find("\r\n\r\n");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(status_line(all), "HTTP/1.1 200 OK");
  std::string body = all.substr(first + 4, all.find("HTTP/1.1", first) - first - 4);
  EXPECT_NE(body.find(" 3005 first"), std::string::npos) << body;  // every byte, "first" on its own
  EXPECT_NE(body.substr(0, 2), "1 ") << body;                         // in more than one piece
  EXPECT_NE(all.find("ignored"), std::string::npos);  // the unread body was drained...
  EXPECT_NE(all.find("Hello, World!"), std::string::npos);  // ...and the next request served
}

// A trailer that arrives in two reads, while the handler of a streamed body is using the headers:
// it lands whole, beside what the handler added.
TEST(http_server, trailers_after_a_streamed_body_leave_the_handlers_headers_intact) {
  test::http_fixture srv(test_routes());
  raw_client c(srv.port());
  c.send("POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Chec");
  std::this_thread::sleep_for(50ms);  // the handler has had "hello" and added its header by now
  c.send("ksum: abc\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = c.read_all();
  EXPECT_EQ(status_line(all), "HTTP/1.1 200 OK") << all;
  EXPECT_NE(all.find("\r\n\r\nabc - seen x 3"), std::string::npos) << all;
  EXPECT_NE(all.find("Hello, World!"), std::string::npos);
}

TEST(http_router, patterns_and_parameters) {
  http::router r;
  auto ok = [](http::request&) -> task<http::response> { co_return http::response{}; };
  r.get("/delay/{n}", ok).any("/anything/*", ok).get("/", ok);
  std::string allow;
  http::request req;
  req.method = "GET";
  req.target = "/delay/3?x=1";
  EXPECT_NE(r.find(req, allow), nullptr);
  EXPECT_EQ(req.param("n"), "3");
  req.target = "/delay/";
  EXPECT_EQ(r.find(req, allow), nullptr);
  req.target = "/delay/3/4";
  EXPECT_EQ(r.find(req, allow), nullptr);
  req.method = "PATCH";
  req.target = "/anything/a/b";
  EXPECT_NE(r.find(req, allow), nullptr);
  EXPECT_EQ(req.param("*"), "a/b");
  req.target = "/anything";  // "*" also matches nothing
  EXPECT_NE(r.find(req, allow), nullptr);
  EXPECT_EQ(req.param("*"), "");
  req.target = "/anythingelse";
  EXPECT_EQ(r.find(req, allow), nullptr);
  req.target = "/";
  allow.clear();
  EXPECT_EQ(r.find(req, allow), nullptr);
  EXPECT_EQ(allow, "GET");
}
