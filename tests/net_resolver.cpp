// The resolver. There is no network here, so real DNS is exercised against a small DNS server this
// test runs itself on 127.0.0.1 (UDP, real wire format, answering A queries from a table); names from
// /etc/hosts and IP literals need no server at all.
#include <gtest/gtest.h>
#include <weft/net/resolver.hpp>
#include <weft/net/udp.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace weft::net;
using namespace std::chrono_literals;

namespace {

/// Answers A queries for the names in `table` (TTL 60), NODATA for other types of known names,
/// NXDOMAIN for unknown names, and nothing at all for names starting with "silent".
struct dns_stand_in {
  std::map<std::string, std::array<std::uint8_t, 4>> table;
  int queries = 0;

  static std::string qname(const char* p, std::size_t n, std::size_t& at) {
    std::string name;
    while (at < n && p[at] != 0) {
      auto len = static_cast<std::uint8_t>(p[at++]);
      if (!name.empty()) name += '.';
      name.append(p + at, std::min<std::size_t>(len, n - at));
      at += len;
    }
    ++at;
    return name;
  }

  task<void> serve(udp_socket& sock) {
    char buf[512];
    for (;;) {
      auto d = co_await sock.receive_from(buf);
      if (!d) co_return;
      ++queries;
      std::size_t at = 12;
      std::string name = qname(buf, d->size, at);
      if (at + 4 > d->size) continue;
      std::uint16_t qtype = static_cast<std::uint16_t>((std::uint8_t(buf[at]) << 8) | std::uint8_t(buf[at + 1]));
      std::size_t question_end = at + 4;
      if (name.rfind("silent", 0) == 0) continue;
      std::string reply(buf, question_end);
      reply[2] = static_cast<char>(0x81);  // response, recursion desired
      reply[3] = static_cast<char>(0x80);  // recursion available, NOERROR
      reply[6] = reply[7] = reply[8] = reply[9] = reply[10] = reply[11] = 0;
      auto it = table.find(name);
      if (it == table.end()) {
        reply[3] = static_cast<char>(0x83);  // NXDOMAIN
      } else if (qtype == 1) {
        reply[7] = 1;  // one answer
        const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
        reply.append(reinterpret_cast<const char*>(rr), sizeof rr);
        reply.append(reinterpret_cast<const char*>(it->second.data()), 4);
      }
      co_await sock.send_to(reply, d->from);
    }
  }
};

}  // namespace

TEST(net_resolver, literals_and_etc_hosts) {
  auto body = []() -> task<void> {
    auto lit = co_await resolve("10.9.8.7");
    CO_ASSERT_TRUE(lit.has_value());
    EXPECT_EQ(lit->front(), ip_address::v4(10, 9, 8, 7));
    auto v6 = co_await resolve("::1");
    CO_ASSERT_TRUE(v6.has_value());
    EXPECT_TRUE(v6->front().is_v6());
    auto local = co_await resolve("localhost", {.families = resolve_options::family::v4});
    CO_ASSERT_TRUE(local.has_value());
    EXPECT_EQ(local->front(), ip_address::loopback_v4());
    auto empty = co_await resolve("");
    CO_ASSERT_TRUE(!empty);
    EXPECT_EQ(empty.error(), errc::invalid_argument);
  };
  run(body());
}

TEST(net_resolver, queries_a_dns_server_caches_and_reports_errors) {
  auto body = []() -> task<void> {
    auto sock = udp_socket::bind({ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(sock.has_value());
    dns_stand_in dns;
    dns.table["api.weft.test"] = {10, 1, 2, 3};
    auto server = spawn(dns.serve(*sock));
    CO_ASSERT_TRUE(set_dns_servers(sock->local_endpoint()->to_string()).has_value());

    auto a = co_await resolve("api.weft.test");
    CO_ASSERT_TRUE(a.has_value());
    EXPECT_EQ(*a, std::vector<ip_address>{ip_address::v4(10, 1, 2, 3)});
    int after_first = dns.queries;
    EXPECT_GE(after_first, 1);
    auto again = co_await resolve("api.weft.test");
    CO_ASSERT_TRUE(again.has_value());
    EXPECT_EQ(dns.queries, after_first);  // answered from the cache
    auto fresh = co_await resolve("api.weft.test", {.use_cache = false});
    EXPECT_TRUE(fresh.has_value());
    EXPECT_GT(dns.queries, after_first);

    auto missing = co_await resolve("nope.weft.test");
    CO_ASSERT_TRUE(!missing);
    EXPECT_EQ(missing.error(), errc::host_not_found);

    auto slow = co_await resolve("silent.weft.test", {.timeout = 200ms});
    CO_ASSERT_TRUE(!slow);
    EXPECT_EQ(slow.error(), errc::timed_out);

    auto cancelled = spawn(resolve("silent2.weft.test"));
    co_await sleep_for(20ms);
    cancelled.cancel();
    auto c = co_await std::move(cancelled);
    CO_ASSERT_TRUE(!c);
    EXPECT_EQ(c.error(), errc::operation_canceled);
    server.cancel();
    co_await std::move(server);
  };
  run(body());
}
