// The HTTP client against weft's own server and against scripted servers on real sockets, which send
// the odd-but-valid and the broken responses no well-behaved server can be made to send: a body
// delimited by the close, chunk extensions, 1xx before the final response, a truncated body, a bad
// chunk size, a reset, silence. Each asserts the error kind and that the client goes on working.
#include <gtest/gtest.h>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/net/tcp.hpp>
#include <weft/process.hpp>

#include <sys/socket.h>

#include <atomic>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "tls_support.hpp"

using namespace weft;
using namespace weft::http;
using namespace std::chrono_literals;

namespace {

/// How a scripted server ends a connection after writing its reply.
enum class then { close, reset, keep_open };

/// A server on a real loopback socket that answers each connection's first request with `reply`.
struct scripted_server {
  net::tcp_listener listener;
  std::string reply;
  then ending = then::close;
  int connections = 0;

  static scripted_server start(std::string reply, then ending = then::close) {
    auto l = net::tcp_listener::bind({net::ip_address::loopback_v4(), 0});
    EXPECT_TRUE(l.has_value());
    return scripted_server{std::move(*l), std::move(reply), ending, 0};
  }
  std::string url(std::string_view path = "/") const {
    return "http://" + listener.local_endpoint().value().to_string() + std::string(path);
  }
  /// Serves `n` connections, one after another.
  task<void> serve(int n) {
    for (int i = 0; i < n; ++i) {
      auto c = co_await listener.accept();
      if (!c) co_return;
      ++connections;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        auto r = co_await c->read_some(std::span(buf), 5s);
        if (!r || *r == 0) break;
        request.append(buf, *r);
      }
      if (!reply.empty()) co_await c->write_all(reply);
      if (ending == then::reset) {
        linger l{1, 0};  // close with RST instead of FIN
        ::setsockopt(c->native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
      } else if (ending == then::keep_open) {
        co_await sleep_for(1s);
      }
    }
  }
};

/// weft's own server with a few routes, for the well-behaved cases.
struct real_server {
  http::server server;
  std::string base;

  static router routes() {
    router r;
    r.get("/hello", [](request&) -> task<response> { co_return response::text(200, "hello"); });
    r.post("/echo", [](request& req) -> task<response> {
      auto res = response::text(200, req.body);
      res.headers.add("X-Request-Id", req.headers.get("request-id").value_or("none"));
      co_return res;
    });
    // n pieces, 50 ms apart, chunked: a body that arrives over time.
    r.get("/tick/{n}", [](request& req) -> task<response> {
      int n = std::stoi(std::string(req.param("n").value_or("1")));
      response res = response::text(200, "");
      res.stream = [n](body_writer& w) -> task<result<void>> {
        for (int i = 0; i < n; ++i) {
          if (i > 0) co_await sleep_for(50ms);
          auto ok = co_await w.write("tick " + std::to_string(i) + "\n");
          if (!ok) co_return ok;
        }
        co_return result<void>();
      };
      co_return res;
    });
    r.put("/echo", [](request& req) -> task<response> { co_return response::text(200, "put " + req.body); });
    r.get("/keep-for-ages", [](request&) -> task<response> {
      response res = response::text(200, "kept");
      res.headers.add("Keep-Alive", "timeout=2000000000");
      co_return res;
    });
    r.del("/echo", [](request&) -> task<response> { co_return response::text(200, "deleted"); });
    r.get("/big", [](request&) -> task<response> { co_return response::text(200, std::string(300'000, 'b')); });
    return r;
  }
  real_server() : server(routes()) {
    EXPECT_TRUE(server.listen({net::ip_address::loopback_v4(), 0}));
    base = "http://" + server.local_endpoint().to_string();
  }
};

struct bad_case {
  std::string reply;
  then ending;
  std::error_code expected;
};

std::string repeated(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Outside the coroutine: g++ 12 mishandles a braced list inside one.
std::vector<bad_case> bad_cases() {
  return {
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", then::close, errc::end_of_stream},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n0\r\n\r\n", then::close, errc::bad_response},
        {"SMTP ready\r\n\r\n", then::close, errc::bad_response},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", then::close, errc::bad_response},
        {"", then::close, errc::end_of_stream},
        {"", then::keep_open, errc::timed_out},
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", then::reset,
         std::error_code(ECONNRESET, std::system_category())},
        // Stalls mid-body; closes mid-headers; an oversized header section; 1xx forever.
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", then::keep_open, errc::timed_out},
        {"HTTP/1.1 200 OK\r\nContent-Le", then::close, errc::end_of_stream},
        {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'h') + "\r\n\r\n", then::keep_open, errc::too_large},
        {repeated("HTTP/1.1 100 Continue\r\n\r\n", 4000), then::keep_open, errc::bad_response},
  };
}

}  // namespace

TEST(http_client, url_parsing) {
  auto u = url::parse("HTTP://Example.COM:8080/a/b?c=d#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/a/b?c=d");
  EXPECT_EQ(u->host_header(), "example.com:8080");
  auto v6 = url::parse("https://[::1]/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  EXPECT_EQ(v6->host_header(), "[::1]");
  EXPECT_EQ(url::parse("http://h?q")->target, "/?q");
  for (const char* bad : {"ftp://h/", "http://", "http://h:0/", "http://h:99999/", "http://u@h/", "h/path",
                          "http://h/a b", "http://[::1/"}) {
    EXPECT_EQ(url::parse(bad).error(), errc::invalid_argument) << bad;
  }
}

TEST(http_client, redirect_locations_resolve_against_the_url) {
  auto base = url::parse("http://h:8080/a/b/c?q=1");
  ASSERT_TRUE(base);
  auto to = [&](std::string_view loc) { return base->resolve(loc).value().to_string(); };
  EXPECT_EQ(to("https://other/x"), "https://other/x");
  EXPECT_EQ(to("//other:81/y"), "http://other:81/y");
  EXPECT_EQ(to("/root"), "http://h:8080/root");
  EXPECT_EQ(to("sibling?z"), "http://h:8080/a/b/sibling?z");
  EXPECT_EQ(to("?only=query"), "http://h:8080/a/b/c?only=query");
  EXPECT_EQ(to("/login?next=https://x/y"), "http://h:8080/login?next=https://x/y");  // "://" in the query
  EXPECT_EQ(to("../x"), "http://h:8080/a/x");
  EXPECT_EQ(to("./d/../e"), "http://h:8080/a/b/e");
  EXPECT_EQ(to("/a/./b/../../c/"), "http://h:8080/c/");
  EXPECT_EQ(to(""), "http://h:8080/a/b/c?q=1");
  EXPECT_EQ(to("#frag"), "http://h:8080/a/b/c?q=1");
  EXPECT_EQ(to("HTTPS://other/x#f"), "https://other/x");
  EXPECT_FALSE(base->resolve("ftp://x/"));
  EXPECT_EQ(url::parse("https://h:443/p")->to_string(), "https://h/p");
}

// The largest idle limits mean "keep it": idle_timeout = duration::max() (whose `now + idle`
// overflowed, so no connection was ever reused) and a server's `Keep-Alive: timeout=2000000000`
// (whose nine tenths overflowed too).
TEST(http_client, the_largest_idle_limits_keep_the_connection) {
  test::run_test([]() -> task<void> {
    real_server srv;
    auto serving = spawn(srv.server.serve());
    client_options o;
    o.idle_timeout = clock::duration::max();
    client http(o);
    for (const char* path : {"/hello", "/hello", "/keep-for-ages", "/keep-for-ages", "/hello"}) {
      auto r = co_await http.get(srv.base + path);
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->status, 200);
    }
    EXPECT_EQ(http.open_connections(), 1u);  // five requests, one connection
    http.close_idle();
    srv.server.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, get_and_post_reuse_one_keep_alive_connection) {
  test::run_test([]() -> task<void> {
    real_server srv;
    auto serving = spawn(srv.server.serve());
    client http;
    for (int i = 0; i < 5; ++i) {
      auto r = co_await http.get(srv.base + "/hello");
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->body, "hello");
    }
    http::headers id;
    id.add("request-id", "42");
    auto echoed = co_await http.post(srv.base + "/echo", "payload", std::move(id));
    CO_ASSERT_TRUE(echoed.has_value());
    EXPECT_EQ(echoed->body, "payload");
    EXPECT_EQ(echoed->headers.get("x-request-id"), "42");
    EXPECT_EQ(http.open_connections(), 1u);  // six requests, one connection
    auto missing = co_await http.get(srv.base + "/nope");
    EXPECT_EQ(missing.value().status, 404);
    http.close_idle();
    srv.server.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, concurrent_requests_respect_the_per_host_limit) {
  test::run_test([]() -> task<void> {
    real_server srv;
    auto serving = spawn(srv.server.serve());
    client_options o;
    o.max_connections_per_host = 3;
    client http(o);
    std::vector<task<result<client_response>>> all;
    for (int i = 0; i < 20; ++i) all.push_back(http.get(srv.base + "/hello"));
    auto done = co_await when_all(std::move(all));
    for (auto& r : done) EXPECT_TRUE(r && r->body == "hello");
    EXPECT_LE(http.open_connections(), 3u);
    http.close_idle();
    srv.server.shutdown();
    co_await std::move(serving);
  }());
}

// Cancellation gives back the per-host slot wherever it cuts: 10,000 requests cancelled at random
// points (waiting for a slot, connecting, sending, waiting for the answer, reading it), then as many
// requests as the limit, which must all be in flight at once: a handler holds each until it sees the
// limit reached, so one lost slot shows as a 503 from the gate.
TEST(http_client, cancelled_requests_give_back_their_per_host_slots) {
  test::run_test([]() -> task<void> {
    constexpr int limit = 8;
    static std::atomic<int> at_gate{0};
    at_gate = 0;
    router routes;
    routes.get("/slow/{us}", [](request& req) -> task<response> {
      co_await sleep_for(std::chrono::microseconds(std::stoi(std::string(*req.param("us")))));
      co_return response::text(200, "slow");
    });
    routes.get("/gate", [](request&) -> task<response> {
      ++at_gate;
      for (int i = 0; i < 2000 && at_gate.load() < limit; ++i) co_await sleep_for(1ms);
      co_return response::text(at_gate.load() >= limit ? 200 : 503, std::to_string(at_gate.load()));
    });
    http::server server(std::move(routes));
    CO_ASSERT_TRUE(server.listen({net::ip_address::loopback_v4(), 0}).has_value());
    std::string base = "http://" + server.local_endpoint().to_string();
    auto serving = spawn(server.serve());
    client_options o;
    o.max_connections_per_host = limit;
    client http(o);
    std::uint64_t seed = 20261202;
    auto next = [&seed] {  // xorshift: the same cut points every run
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      return seed;
    };
    int completed = 0;
    int cut = 0;
    for (int batch = 0; batch < 10'000 / 50; ++batch) {
      std::vector<task<result<client_response>>> wave;
      for (int i = 0; i < 50; ++i) {
        auto after = std::chrono::microseconds(next() % 3000);
        wave.push_back(timeout(after, http.get(base + "/slow/" + std::to_string(next() % 2000))));
      }
      for (auto& r : co_await when_all(std::move(wave))) {
        if (r) ++completed;
        else ++cut;
      }
    }
    EXPECT_EQ(completed + cut, 10'000);
    EXPECT_GT(cut, 1'000);  // the cuts did land, at many points
    std::vector<task<result<client_response>>> gate;
    for (int i = 0; i < limit; ++i) gate.push_back(http.get(base + "/gate"));
    for (auto& r : co_await when_all(std::move(gate))) {
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->status, 200) << "only " << r->body << " of " << limit << " slots came back";
    }
    http.close_idle();
    server.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, a_streamed_body_arrives_piece_by_piece_and_its_connection_is_reused) {
  test::run_test([]() -> task<void> {
    real_server srv;
    auto serving = spawn(srv.server.serve());
    client http;
    client_request req;
    req.url = srv.base + "/tick/4";
    auto s = co_await http.open(std::move(req));
    CO_ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->status, 200);
    EXPECT_EQ(s->headers.get("Transfer-Encoding"), "chunked");
    std::string body;
    int pieces = 0;
    auto first = clock::now();
    auto last = first;
    for (;;) {
      auto piece = co_await s->next();
      CO_ASSERT_TRUE(piece.has_value());
      if (piece->empty()) break;
      if (pieces++ == 0) first = clock::now();
      last = clock::now();
      body += *piece;
    }
    EXPECT_EQ(body, "tick 0\ntick 1\ntick 2\ntick 3\n");
    EXPECT_GE(pieces, 3);                  // the pieces came as they were sent, not all at the end
    EXPECT_GE(last - first, 50ms);         // three 50 ms gaps between the first piece and the last (a late first read eats into them)
    EXPECT_TRUE(s->done());
    EXPECT_EQ(http.open_connections(), 1u);  // back in the pool
    auto again = co_await http.get(srv.base + "/hello");
    CO_ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->body, "hello");
    EXPECT_EQ(http.open_connections(), 1u);  // the same connection carried it
    http.close_idle();
    srv.server.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, a_stream_is_not_bound_by_max_body_bytes_and_dropping_one_closes_its_connection) {
  test::run_test([]() -> task<void> {
    real_server srv;
    auto serving = spawn(srv.server.serve());
    client_options small;
    small.max_body_bytes = 1000;
    client http(small);
    auto whole = co_await http.get(srv.base + "/big");
    CO_ASSERT_TRUE(!whole);
    EXPECT_EQ(whole.error(), errc::too_large);
    client_request req;
    req.url = srv.base + "/big";
    auto s = co_await http.open(req);
    CO_ASSERT_TRUE(s.has_value());
    std::size_t bytes = 0;
    for (;;) {
      auto piece = co_await s->next();
      CO_ASSERT_TRUE(piece.has_value());
      if (piece->empty()) break;
      bytes += piece->size();
    }
    EXPECT_EQ(bytes, 300'000u);
    EXPECT_EQ(http.open_connections(), 1u);
    {
      client_request slow;
      slow.url = srv.base + "/tick/20";
      auto dropped = co_await http.open(std::move(slow));
      CO_ASSERT_TRUE(dropped.has_value());
      auto piece = co_await dropped->next();
      CO_ASSERT_TRUE(piece.has_value());
      EXPECT_EQ(*piece, "tick 0\n");
    }  // dropped a second before its body ends: the connection cannot be reused, so it is closed
    EXPECT_EQ(http.open_connections(), 0u);
    srv.server.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, a_stream_cut_short_is_an_error_on_next) {
  test::run_test([]() -> task<void> {
    auto cut = scripted_server::start("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    auto serving = spawn(cut.serve(1));
    client http;
    client_request req;
    req.url = cut.url();
    auto s = co_await http.open(std::move(req));
    CO_ASSERT_TRUE(s.has_value());
    std::string got;
    std::error_code ended;
    for (int i = 0; i < 10 && !ended; ++i) {
      auto piece = co_await s->next();
      if (!piece) ended = piece.error();
      else got += *piece;
    }
    EXPECT_EQ(got, "only this");
    EXPECT_EQ(ended, errc::end_of_stream);
    auto again = co_await s->next();  // and it stays an error
    CO_ASSERT_TRUE(!again);
    EXPECT_EQ(again.error(), errc::end_of_stream);
    EXPECT_FALSE(s->done());
    EXPECT_EQ(http.open_connections(), 0u);
    co_await std::move(serving);
  }());
}

TEST(http_client, https_verifies_the_server_and_pools_tls_connections) {
  const test::test_pki& pki = test::pki();
  ASSERT_TRUE(pki.ok) << "openssl could not make the test certificates";
  test::run_test([&]() -> task<void> {
    auto server_tls = net::tls_context::server(pki.cert, pki.key);
    CO_ASSERT_TRUE(server_tls.has_value());
    server_options so;
    so.tls = *server_tls;
    http::server srv(real_server::routes(), so);
    CO_ASSERT_TRUE(srv.listen({net::ip_address::loopback_v4(), 0}).has_value());
    std::string port = std::to_string(srv.local_endpoint().port);
    auto serving = spawn(srv.serve());

    auto trusting = net::tls_context::client();
    CO_ASSERT_TRUE(trusting.has_value());
    CO_ASSERT_TRUE(trusting->trust(pki.ca).has_value());
    client_options co;
    co.tls = *trusting;
    client http(co);
    for (int i = 0; i < 3; ++i) {
      auto r = co_await http.get("https://127.0.0.1:" + port + "/hello");
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->body, "hello");
    }
    EXPECT_EQ(http.open_connections(), 1u);  // one TLS connection carried all three
    auto by_name = co_await http.get("https://localhost:" + port + "/hello");  // the certificate's DNS name
    EXPECT_TRUE(by_name.has_value() && by_name->status == 200);

    client system_roots;  // the system's trust store does not know the test CA
    auto refused = co_await system_roots.get("https://127.0.0.1:" + port + "/hello");
    CO_ASSERT_TRUE(!refused);
    EXPECT_EQ(refused.error(), errc::tls_handshake_failed);
    EXPECT_EQ(system_roots.open_connections(), 0u);
    auto still = co_await http.get("https://127.0.0.1:" + port + "/hello");  // the server goes on serving
    EXPECT_TRUE(still.has_value() && still->body == "hello");

    http.close_idle();
    srv.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, put_delete_head_and_idle_connections_past_their_time_close) {
  test::run_test([]() -> task<void> {
    real_server srv;
    auto serving = spawn(srv.server.serve());
    client_options brief;
    brief.idle_timeout = 150ms;  // wide enough that three concurrent responses end well within it
    client http(brief);
    auto put = co_await http.put(srv.base + "/echo", "x");
    EXPECT_TRUE(put && put->body == "put x");
    auto del = co_await http.del(srv.base + "/echo");
    EXPECT_TRUE(del && del->body == "deleted");
    auto head = co_await http.head(srv.base + "/big");
    CO_ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->headers.get("Content-Length"), "300000");
    EXPECT_TRUE(head->body.empty());
    // Three connections at once, then one of them kept in use while the other two pass their 150 ms:
    // returning the busy one to the pool closes the two behind it.
    std::vector<task<result<client_response>>> three;
    for (int i = 0; i < 3; ++i) three.push_back(http.get(srv.base + "/tick/2"));
    co_await when_all(std::move(three));
    EXPECT_EQ(http.open_connections(), 3u);
    for (int i = 0; i < 2; ++i) {
      co_await sleep_for(90ms);
      auto later = co_await http.get(srv.base + "/hello");  // takes the most recently used connection
      EXPECT_TRUE(later.has_value());
    }
    EXPECT_EQ(http.open_connections(), 1u);
    http.close_idle();
    srv.server.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, odd_but_valid_responses) {
  test::run_test([]() -> task<void> {
    client http;
    // A body delimited by the connection's close (no Content-Length, no chunking).
    auto eof = scripted_server::start("HTTP/1.1 200 OK\r\n\r\nuntil the end");
    auto s1 = spawn(eof.serve(1));
    auto r1 = co_await http.get(eof.url());
    CO_ASSERT_TRUE(r1.has_value());
    EXPECT_EQ(r1->body, "until the end");
    co_await std::move(s1);
    // Chunk extensions, and a trailer.
    auto chunked = scripted_server::start(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    auto s2 = spawn(chunked.serve(1));
    auto r2 = co_await http.get(chunked.url());
    CO_ASSERT_TRUE(r2.has_value());
    EXPECT_EQ(r2->body, "hello world");
    co_await std::move(s2);
    // 100 Continue and 103 Early Hints before the final response.
    auto interim = scripted_server::start(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    auto s3 = spawn(interim.serve(1));
    client once;
    auto r3 = co_await once.get(interim.url());
    CO_ASSERT_TRUE(r3.has_value());
    EXPECT_EQ(once.open_connections(), 0u);  // `Connection: close`: not pooled
    EXPECT_EQ(r3->status, 201);
    EXPECT_EQ(r3->body, "ok");
    EXPECT_FALSE(r3->headers.contains("Link"));  // the interim response's fields are not the final's
    co_await std::move(s3);
    // HEAD: a Content-Length with no body after it.
    auto head = scripted_server::start("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", then::keep_open);
    auto s4 = spawn(head.serve(1));
    client_request req;
    req.method = "HEAD";
    req.url = head.url();
    auto r4 = co_await http.send(req);
    CO_ASSERT_TRUE(r4.has_value());
    EXPECT_EQ(r4->body, "");
    http.close_idle();
    co_await std::move(s4);
  }());
}

TEST(http_client, broken_responses_are_errors_with_a_kind) {
  test::run_test([]() -> task<void> {
    client_options o;
    o.response_timeout = 300ms;
    client http(o);
    std::vector<bad_case> cases = bad_cases();
    for (const bad_case& c : cases) {
      auto srv = scripted_server::start(c.reply, c.ending);
      auto serving = spawn(srv.serve(1));
      auto r = co_await http.get(srv.url());
      std::string shown = c.reply.substr(0, 60);
      EXPECT_FALSE(r.has_value()) << shown;
      if (!r) {
        EXPECT_EQ(r.error(), c.expected) << shown << " gave " << r.error().message();
      }
      co_await std::move(serving);
    }
    EXPECT_EQ(http.open_connections(), 0u);  // nothing broken was pooled
    // Refused: nothing listens on the port any more.
    std::string gone_url;
    {
      auto l = net::tcp_listener::bind({net::ip_address::loopback_v4(), 0});
      gone_url = "http://" + l->local_endpoint().value().to_string() + "/";
    }
    auto refused = co_await http.get(gone_url);
    EXPECT_EQ(refused.error(), std::errc::connection_refused);
    EXPECT_EQ((co_await http.get("gopher://x/")).error(), errc::invalid_argument);
    // Limits: a body past max_body_bytes.
    client_options small;
    small.max_body_bytes = 10;
    client tight(small);
    auto big = scripted_server::start("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890");
    auto serving = spawn(big.serve(1));
    EXPECT_EQ((co_await tight.get(big.url())).error(), errc::too_large);
    co_await std::move(serving);
  }());
}

// A server that writes more than its Content-Length, a moment after the response: the extra bytes
// must not be read as the next response. The connection is dropped at reuse and the next request goes
// on a fresh one.
TEST(http_client, bytes_after_a_response_spoil_its_connection) {
  test::run_test([]() -> task<void> {
    auto l = net::tcp_listener::bind({net::ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(l.has_value());
    std::string url = "http://" + l->local_endpoint().value().to_string() + "/";
    int accepted = 0;
    event extra_sent;
    auto serving = spawn([](net::tcp_listener& listener, int& count, event& extra) -> task<void> {
      std::vector<net::tcp_stream> held;
      for (int i = 0; i < 2; ++i) {
        // Bounded: a client that reused the spoiled connection never comes back for a second one.
        auto accept = [](net::tcp_listener& on) -> task<result<net::tcp_stream>> { co_return co_await on.accept(); };
        auto c = co_await timeout(2s, accept(listener));
        if (!c) break;
        ++count;
        char buf[4096];
        net::tcp_stream& conn = *c;
        (void)co_await conn.read_some(std::span(buf), 5s);
        (void)co_await conn.write_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        if (i == 0) {
          co_await sleep_for(20ms);
          (void)co_await conn.write_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEXTRA");
          extra.set();  // on loopback, written is in the client's receive queue
        }
        held.push_back(std::move(conn));
      }
      co_await sleep_for(100ms);
    }(*l, accepted, extra_sent));
    client http;
    auto first = co_await http.get(url);
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->body, "ok");
    co_await extra_sent.wait();  // the extra bytes have arrived on the idle connection
    auto second = co_await http.get(url);
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->body, "ok");  // not "EXTRA"
    EXPECT_EQ(accepted, 2);
    http.close_idle();
    co_await std::move(serving);
  }());
}

// A server that answers before it has read the request body (413 here) and closes: the client, still
// writing, gets a reset, and must report the answer rather than the reset, and pool nothing.
TEST(http_client, an_answer_before_the_body_was_taken_is_returned) {
  test::run_test([]() -> task<void> {
    auto srv = scripted_server::start(
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!", then::close);
    auto serving = spawn(srv.serve(1));
    client http;
    auto r = co_await http.post(srv.url("/upload"), std::string(32 * 1024 * 1024, 'x'));
    if (!r) ADD_FAILURE() << r.error().message();
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->body, "big!");
    EXPECT_EQ(http.open_connections(), 0u);
    co_await std::move(serving);
  }());
}

TEST(http_client, a_stale_pooled_connection_is_retried_once_for_idempotent_requests) {
  test::run_test([]() -> task<void> {
    // Answers with keep-alive, then closes the connection while the client holds it idle.
    auto srv = scripted_server::start("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    auto serving = spawn(srv.serve(2));
    client http;
    auto first = co_await http.get(srv.url());
    CO_ASSERT_TRUE(first.has_value());
    co_await sleep_for(50ms);  // the server has closed it by now
    auto second = co_await http.get(srv.url());
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->body, "ok");
    EXPECT_EQ(srv.connections, 2);
    co_await std::move(serving);
  }());
}

// Every pooled connection went stale together (the server's idle timeout, which it did not announce):
// the retry must go on a fresh connection, not on the next stale one.
TEST(http_client, the_retry_after_a_stale_connection_opens_a_fresh_one) {
  test::run_test([]() -> task<void> {
    server_options quick;
    quick.keep_alive_timeout = 50ms;
    http::server srv(real_server::routes(), quick);
    CO_ASSERT_TRUE(srv.listen({net::ip_address::loopback_v4(), 0}).has_value());
    std::string base = "http://" + srv.local_endpoint().to_string();
    auto serving = spawn(srv.serve());
    client http;
    std::vector<task<result<client_response>>> three;
    for (int i = 0; i < 3; ++i) three.push_back(http.get(base + "/tick/2"));
    co_await when_all(std::move(three));
    EXPECT_EQ(http.open_connections(), 3u);
    co_await sleep_for(200ms);  // the server has closed all three
    auto after = co_await http.get(base + "/hello");
    CO_ASSERT_TRUE(after.has_value());
    EXPECT_EQ(after->body, "hello");
    http.close_idle();
    srv.shutdown();
    co_await std::move(serving);
  }());
}

TEST(http_client, total_timeout_and_cancellation) {
  test::run_test([]() -> task<void> {
    auto silent = scripted_server::start("", then::keep_open);
    auto serving = spawn(silent.serve(2));
    client_options o;
    o.total_timeout = 200ms;
    client http(o);
    auto start = clock::now();
    EXPECT_EQ((co_await http.get(silent.url())).error(), errc::timed_out);
    EXPECT_LT(clock::now() - start, 2s);
    client plain;
    auto r = co_await timeout(100ms, plain.get(silent.url()));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_EQ(plain.open_connections(), 0u);  // the cancelled request's connection was closed
    co_await std::move(serving);
  }());
}

namespace {

/// Starts `cmd` (a server that prints its port on its first line) and returns it with its base URL.
task<std::pair<process::child, std::string>> start_peer(process::command cmd) {
  auto c = cmd.std_out(process::stdio::piped).spawn();
  EXPECT_TRUE(c.has_value());
  if (!c) co_return std::pair<process::child, std::string>{};
  std::string line;
  char buf[256];
  while (line.find('\n') == std::string::npos) {
    auto n = co_await c->out.read_some(std::span(buf), 10s);
    if (!n || *n == 0) break;
    line.append(buf, *n);
  }
  std::string port = line.substr(0, line.find('\n'));
  co_return std::pair<process::child, std::string>{std::move(*c), "http://127.0.0.1:" + port};
}

}  // namespace

TEST(http_client, against_nodes_http_server_chunked_and_keep_alive) {
  test::run_test([]() -> task<void> {
    // Node's http module: chunked bodies (two writes), keep-alive with `Keep-Alive: timeout=5`.
    auto [node, base] = co_await start_peer(process::command("node").arg("-e").arg(
        "const s = require('http').createServer((req, res) => {"
        "  res.setHeader('x-id', req.headers['request-id'] || '');"
        "  res.write('hello, '); res.end(req.url); });"
        "s.listen(0, '127.0.0.1', () => console.log(s.address().port));"));
    CO_ASSERT_TRUE(!base.empty());
    client http;
    for (int i = 0; i < 10; ++i) {
      http::headers h;
      h.add("request-id", std::to_string(i));
      auto r = co_await http.get(base + "/n/" + std::to_string(i), std::move(h));
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->body, "hello, /n/" + std::to_string(i));
      EXPECT_EQ(r->headers.get("transfer-encoding"), "chunked");
      EXPECT_EQ(r->headers.get("x-id"), std::to_string(i));
    }
    EXPECT_EQ(http.open_connections(), 1u);
    http.close_idle();
    node.kill(SIGTERM);
    co_await node.wait();
  }());
}

TEST(http_client, against_pythons_http_server_http_1_0_without_keep_alive) {
  test::run_test([]() -> task<void> {
    // Python's http.server answers HTTP/1.0 and closes each connection: nothing may be pooled.
    auto [py, base] = co_await start_peer(process::command("python3").arg("-c").arg(
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = self.path.encode()\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
        "        self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
        "print(s.server_address[1], flush=True)\n"
        "s.serve_forever()\n"));
    CO_ASSERT_TRUE(!base.empty());
    client http;
    for (int i = 0; i < 3; ++i) {
      auto r = co_await http.get(base + "/p" + std::to_string(i));
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->version_minor, 0);
      EXPECT_EQ(r->body, "/p" + std::to_string(i));
      EXPECT_EQ(http.open_connections(), 0u);
    }
    py.kill(SIGTERM);
    co_await py.wait();
  }());
}

// What would break the request's framing is refused before anything is sent: a field value with CR or
// LF would put fields of its own on the wire (header injection); so would a method or a name that is
// not a token.
TEST(http_client, fields_that_would_inject_others_are_refused_and_never_sent) {
  test::run_test([]() -> task<void> {
    auto srv = scripted_server::start("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    auto serving = spawn(srv.serve(1));
    client http;
    auto with_field = [&](std::string name, std::string value) {
      client_request req;
      req.method = "GET";
      req.url = srv.url("/x");
      req.headers.add(name, value);
      return http.send(std::move(req));
    };
    for (auto [name, value] : {std::pair<std::string, std::string>{"X-A", "a\r\nX-Injected: yes"},
                               {"X-A", "a\nX-Injected: yes"},
                               {"X-A", std::string("a\0b", 3)},
                               {"X A", "a"},
                               {"X-A:", "a"},
                               {"", "a"}}) {
      auto r = co_await with_field(name, value);
      EXPECT_FALSE(r) << name;
      if (!r) {
        EXPECT_EQ(r.error(), errc::invalid_request) << name;
      }
    }
    client_request bad_method;
    bad_method.method = "GET /y HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET";
    bad_method.url = srv.url("/x");
    auto m = co_await http.send(std::move(bad_method));
    EXPECT_FALSE(m);
    if (!m) {
      EXPECT_EQ(m.error(), errc::invalid_request);
    }
    EXPECT_EQ(srv.connections, 0);  // nothing reached the server
    // A field that is fine goes out: the server answers it.
    auto ok = co_await with_field("X-Empty", "");
    EXPECT_TRUE(ok);
    co_await std::move(serving);
    EXPECT_EQ(srv.connections, 1);
  }());
}

// A server that accepts and never reads: the request's write stalls once the socket buffers fill, and
// fails after send_timeout instead of hanging.
TEST(http_client, a_request_body_the_server_never_reads_times_out) {
  test::run_test([]() -> task<void> {
    auto l = net::tcp_listener::bind({net::ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(l.has_value());
    std::string url = "http://" + l->local_endpoint().value().to_string() + "/upload";
    auto held = spawn([](net::tcp_listener& listener) -> task<void> {
      auto c = co_await listener.accept();
      co_await sleep_for(3s);  // holds the connection open, reading nothing
    }(*l));
    client_options o;
    o.send_timeout = 200ms;
    client http(o);
    auto start = clock::now();
    auto r = co_await http.post(url, std::string(32 * 1024 * 1024, 'x'));
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error(), errc::timed_out);
    }
    EXPECT_LT(clock::now() - start, 2s);
    held.cancel();
    (void)co_await std::move(held);
  }());
}
