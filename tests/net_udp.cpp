// UDP on 127.0.0.1.
#include <gtest/gtest.h>
#include <weft/net/udp.hpp>

#include <string>

#include "test_support.hpp"

using namespace weft;
using namespace weft::net;
using namespace std::chrono_literals;

TEST(net_udp, send_to_and_receive_from) {
  auto body = []() -> task<void> {
    auto a = udp_socket::bind({ip_address::loopback_v4(), 0});
    auto b = udp_socket::bind({ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(a.has_value() && b.has_value());
    endpoint b_at = *b->local_endpoint();
    auto receiver = spawn([&]() -> task<result<datagram>> {
      char buf[64];
      auto d = co_await b->receive_from(buf);
      if (d && std::string(buf, d->size) != "ping") co_return fail(errc::invalid_argument);
      co_return d;
    });
    auto sent = co_await a->send_to("ping", b_at);
    CO_ASSERT_TRUE(sent.has_value());
    EXPECT_EQ(*sent, 4u);
    auto got = co_await std::move(receiver);
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->size, 4u);
    EXPECT_EQ(got->from, *a->local_endpoint());
  };
  run(body());
}

TEST(net_udp, connected_send_and_truncation) {
  auto body = []() -> task<void> {
    auto a = udp_socket::bind({ip_address::loopback_v4(), 0});
    auto b = udp_socket::bind({ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(a.has_value() && b.has_value());
    CO_ASSERT_TRUE(a->connect(*b->local_endpoint()).has_value());
    co_await a->send("0123456789");
    char small[4];
    auto d = co_await b->receive_from(small);
    CO_ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->size, 4u);  // the rest of the datagram is gone, as with recvfrom
    EXPECT_EQ(std::string(small, 4), "0123");
  };
  run(body());
}

TEST(net_udp, receive_timeout_on_virtual_time) {
  auto body = []() -> task<void> {
    auto s = udp_socket::bind({ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(s.has_value());
    char buf[8];
    auto start = clock::now();
    auto d = co_await s->receive_from(buf, 2s);
    CO_ASSERT_TRUE(!d);
    EXPECT_EQ(d.error(), errc::timed_out);
    EXPECT_GE(test::ms_since(start), 2000);
  };
  test::run_paused(body());
}
