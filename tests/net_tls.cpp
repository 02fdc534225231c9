// TLS between weft's own client and server, and against curl, with a CA and a server certificate the
// test makes with the openssl tool (CN and SAN: localhost and 127.0.0.1).
#include <gtest/gtest.h>
#include <weft/net/tls.hpp>

#include <stdlib.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "http_support.hpp"
#include "tls_support.hpp"
#include "test_support.hpp"

using namespace weft;
using namespace weft::net;
using namespace std::chrono_literals;
using weft::test::pki;

namespace {

/// Accepts one TLS connection, echoes what it reads until the client closes, then closes cleanly.
task<void> echo_once(tcp_listener& l, const tls_context& ctx) {
  auto raw = co_await l.accept();
  if (!raw) co_return;
  auto t = co_await tls_stream::accept(std::move(*raw), ctx);
  if (!t) co_return;
  char buf[16384];
  for (;;) {
    auto n = co_await t->read_some(buf);
    if (!n || *n == 0) break;
    auto w = co_await t->write_all(std::string_view(buf, *n));
    if (!w) break;
  }
  co_await t->shutdown();
}

}  // namespace

TEST(net_tls, client_and_server_round_trip_a_megabyte) {
  ASSERT_TRUE(pki().ok) << "openssl could not make the test certificates";
  auto body = []() -> task<void> {
    auto server_ctx = tls_context::server(pki().cert, pki().key);
    auto client_ctx = tls_context::client();
    CO_ASSERT_TRUE(server_ctx.has_value() && client_ctx.has_value());
    CO_ASSERT_TRUE(client_ctx->trust(pki().ca).has_value());
    auto l = tcp_listener::bind({ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(l.has_value());
    auto server = spawn(echo_once(*l, *server_ctx));
    auto tcp = co_await tcp_stream::connect("localhost", l->local_endpoint()->port);
    CO_ASSERT_TRUE(tcp.has_value());
    auto t = co_await tls_stream::connect(std::move(*tcp), *client_ctx, "localhost");
    CO_ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(t->version() == "TLSv1.3" || t->version() == "TLSv1.2") << t->version();
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
    auto writer = spawn([&]() -> task<result<void>> { co_return co_await t->write_all(big); });
    std::string back;
    char buf[16384];
    while (back.size() < big.size()) {
      auto n = co_await t->read_some(buf);
      CO_ASSERT_TRUE(n.has_value() && *n > 0);
      back.append(buf, *n);
    }
    auto w = co_await std::move(writer);
    EXPECT_TRUE(w.has_value());
    EXPECT_TRUE(back == big);
    co_await t->shutdown();
    auto eof = co_await t->read_some(buf);  // the server's close_notify
    EXPECT_TRUE(eof.has_value() && *eof == 0);
    co_await std::move(server);
  };
  run(body());
}

TEST(net_tls, untrusted_or_misnamed_certificates_fail_the_handshake) {
  ASSERT_TRUE(pki().ok);
  auto body = []() -> task<void> {
    auto server_ctx = tls_context::server(pki().cert, pki().key);
    CO_ASSERT_TRUE(server_ctx.has_value());
    auto l = tcp_listener::bind({ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(l.has_value());
    std::uint16_t port = l->local_endpoint()->port;
    struct attempt_t {
      std::string trust;
      std::string name;
    };
    std::vector<attempt_t> attempts;
    attempts.push_back({pki().other_ca, "localhost"});  // signed by a CA we do not trust
    attempts.push_back({pki().ca, "example.com"});      // trusted, but not that name
    for (const attempt_t& a : attempts) {
      auto server = spawn(echo_once(*l, *server_ctx));
      auto client_ctx = tls_context::client();
      CO_ASSERT_TRUE(client_ctx.has_value() && client_ctx->trust(a.trust).has_value());
      auto tcp = co_await tcp_stream::connect(endpoint{ip_address::loopback_v4(), port});
      CO_ASSERT_TRUE(tcp.has_value());
      auto t = co_await tls_stream::connect(std::move(*tcp), *client_ctx, a.name);
      CO_ASSERT_TRUE(!t);
      EXPECT_EQ(t.error(), errc::tls_handshake_failed) << a.name;
      co_await std::move(server);
    }
    auto bad = tls_context::server(pki().ca, pki().key);  // a key that does not match the certificate
    EXPECT_FALSE(bad.has_value());
  };
  run(body());
}

TEST(net_tls, curl_talks_to_a_weft_tls_server) {
  ASSERT_TRUE(pki().ok);
  std::promise<std::uint16_t> ready;
  auto port_future = ready.get_future();
  std::thread server([&] {
    auto body = [&]() -> task<void> {
      auto ctx = tls_context::server(pki().cert, pki().key);
      auto l = tcp_listener::bind({ip_address::loopback_v4(), 0});
      ready.set_value(l && ctx ? l->local_endpoint()->port : 0);
      if (!l || !ctx) co_return;
      auto raw = co_await l->accept();
      if (!raw) co_return;
      auto t = co_await tls_stream::accept(std::move(*raw), *ctx, 10s);
      if (!t) co_return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        auto n = co_await t->read_some(buf);
        if (!n || *n == 0) co_return;
        request.append(buf, *n);
      }
      co_await t->write_all("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello, tls!\n");
      co_await t->shutdown();
    };
    run(body());
  });
  std::uint16_t port = port_future.get();
  ASSERT_NE(port, 0);
  int status = 0;
  std::string out = test::shell("curl -sS --max-time 10 --cacert " + pki().ca + " https://localhost:" +
                                    std::to_string(port) + "/ 2>&1",
                                &status);
  server.join();
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, "hello, tls!\n");
}
