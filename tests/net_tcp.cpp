// TCP over real sockets on 127.0.0.1.
#include <gtest/gtest.h>
#include <weft/net/tcp.hpp>

#include <chrono>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace weft::net;
using namespace std::chrono_literals;

namespace {

endpoint any_local() { return endpoint{ip_address::loopback_v4(), 0}; }

/// A listener on an ephemeral port and a client connected to it, with the server side accepted.
struct pair_t {
  tcp_listener listener;
  tcp_stream client;
  tcp_stream server;
};

task<pair_t> connected_pair() {
  pair_t p;
  auto l = tcp_listener::bind(any_local());
  if (!l) throw std::system_error(l.error());
  p.listener = std::move(*l);
  auto at = p.listener.local_endpoint();
  auto accepting = spawn(
      [&p]() -> task<result<tcp_stream>> { co_return co_await p.listener.accept(); });
  auto c = co_await tcp_stream::connect(*at);
  if (!c) throw std::system_error(c.error());
  p.client = std::move(*c);
  auto s = co_await std::move(accepting);
  if (!s) throw std::system_error(s.error());
  p.server = std::move(*s);
  co_return p;
}

}  // namespace

TEST(net_address, parses_and_prints) {
  EXPECT_EQ(endpoint::parse("127.0.0.1:8080")->to_string(), "127.0.0.1:8080");
  EXPECT_EQ(endpoint::parse("[::1]:443")->to_string(), "[::1]:443");
  EXPECT_TRUE(endpoint::parse("[::1]:443")->address.is_loopback());
  EXPECT_EQ(ip_address::parse("10.1.2.3")->bytes()[3], 3);
  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:x", "::1:80", "[::1]80",
                          "300.1.1.1:1", "host:80"}) {
    auto r = endpoint::parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error(), errc::invalid_argument);
    }
  }
}

TEST(net_tcp, echo_round_trip_with_writev) {
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    std::array<std::string_view, 3> parts{"hello, ", "", "world"};
    auto w = co_await p.client.write_all(parts);
    CO_ASSERT_TRUE(w.has_value());
    char buf[12];
    auto r = co_await p.server.read_exact(buf);
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(std::string(buf, 12), "hello, world");
    EXPECT_EQ(p.client.remote_endpoint()->port, p.listener.local_endpoint()->port);
    EXPECT_TRUE(p.client.set_nodelay(true).has_value());
    EXPECT_TRUE(p.client.set_keepalive(true).has_value());
  };
  run(body(), test::options());
}

TEST(net_tcp, end_of_stream_reads_zero_then_read_exact_fails) {
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    co_await p.client.write_all("ab");
    CO_ASSERT_TRUE(p.client.shutdown_write().has_value());
    char buf[4];
    auto r = co_await p.server.read_exact(buf);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::end_of_stream);
    auto n = co_await p.server.read_some(buf);
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(*n, 0u);
  };
  run(body(), test::options());
}

TEST(net_tcp, large_write_completes_against_a_slow_reader) {
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    std::string big(8 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
    auto writer = spawn([&]() -> task<result<void>> { co_return co_await p.client.write_all(big); });
    std::string got;
    std::vector<char> buf(100'000);
    while (got.size() < big.size()) {
      auto n = co_await p.server.read_some(buf);
      CO_ASSERT_TRUE(n.has_value() && *n > 0);
      got.append(buf.data(), *n);
      co_await yield_now();
    }
    auto w = co_await std::move(writer);
    EXPECT_TRUE(w.has_value());
    EXPECT_TRUE(got == big);
  };
  run(body(), test::options());
}

TEST(net_tcp, connect_refused_is_an_error_value) {
  auto body = []() -> task<void> {
    // Bind, learn the port, close: nothing listens there now.
    auto l = tcp_listener::bind(any_local());
    CO_ASSERT_TRUE(l.has_value());
    endpoint at = *l->local_endpoint();
    l->close();
    auto c = co_await tcp_stream::connect(at);
    CO_ASSERT_TRUE(!c);
    EXPECT_EQ(c.error(), std::errc::connection_refused);
  };
  run(body(), test::options());
}

TEST(net_tcp, read_timeout_on_virtual_time) {
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    auto start = clock::now();
    char buf[8];
    auto n = co_await p.server.read_some(buf, 250ms);
    CO_ASSERT_TRUE(!n);
    EXPECT_EQ(n.error(), errc::timed_out);
    EXPECT_GE(test::ms_since(start), 250);
    // The stream still works after a timed-out read.
    co_await p.client.write_all("z");
    auto m = co_await p.server.read_some(buf, 10s);
    CO_ASSERT_TRUE(m.has_value());
    EXPECT_EQ(*m, 1u);
  };
  test::run_paused(body());
}

TEST(net_tcp, cancelled_read_releases_the_socket) {
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    char buf[8];
    auto reader = spawn([&]() -> task<result<std::size_t>> { co_return co_await p.server.read_some(buf); });
    co_await yield_now();
    reader.cancel();
    auto r = co_await std::move(reader);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::operation_canceled);
    co_await p.client.write_all("q");
    auto again = co_await p.server.read_some(buf);
    CO_ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, 1u);
  };
  run(body(), test::options());
}

TEST(net_tcp, second_concurrent_read_is_refused) {
  if (!test::fifo_order()) GTEST_SKIP() << "two tasks share one socket, ordered by one loop";
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    char a[4];
    char b[4];
    auto first = spawn([&]() -> task<result<std::size_t>> { co_return co_await p.server.read_some(a); });
    co_await yield_now();
    auto second = co_await p.server.read_some(b);
    CO_ASSERT_TRUE(!second);
    EXPECT_EQ(second.error(), errc::operation_in_progress);
    co_await p.client.write_all("1");
    auto r = co_await std::move(first);
    EXPECT_TRUE(r.has_value());
  };
  run(body(), test::options());
}

TEST(net_tcp, close_completes_a_suspended_read) {
  if (!test::fifo_order()) GTEST_SKIP() << "two tasks share one socket, ordered by one loop";
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    char buf[4];
    auto reader = spawn([&]() -> task<result<std::size_t>> { co_return co_await p.server.read_some(buf); });
    co_await yield_now();
    p.server.close();
    auto r = co_await std::move(reader);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::closed);
    auto after = co_await p.server.read_some(buf);
    CO_ASSERT_TRUE(!after);
    EXPECT_EQ(after.error(), errc::closed);
  };
  run(body(), test::options());
}

TEST(net_tcp, end_of_stream_arriving_with_the_last_data_is_not_missed) {
  // Data and FIN land together, in one readiness edge, while a read is parked. The read that takes the
  // data is short, yet the socket is not drained: the next read must see end of stream at once rather
  // than wait for an edge that will never come.
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    char buf[64];
    auto first = spawn([&]() -> task<result<std::size_t>> { co_return co_await p.server.read_some(buf); });
    co_await yield_now();  // the read is parked now
    co_await p.client.write_all("abc");
    CO_ASSERT_TRUE(p.client.shutdown_write().has_value());
    auto got = co_await std::move(first);
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, 3u);
    auto eof = co_await p.server.read_some(buf, 2s);
    CO_ASSERT_TRUE(eof.has_value());
    EXPECT_EQ(*eof, 0u);
  };
  run(body(), test::options());
}

TEST(net_tcp, reset_by_peer_mid_read) {
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    // SO_LINGER 0: close sends RST instead of FIN.
    linger lg{1, 0};
    setsockopt(p.client.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    co_await p.client.write_all("partial");
    p.client.close();
    char buf[64];
    result<std::size_t> r;
    do {
      r = co_await p.server.read_some(buf);
    } while (r && *r > 0);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), std::errc::connection_reset);
  };
  run(body(), test::options());
}

TEST(net_tcp, accept_survives_descriptor_exhaustion) {
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  auto body = [&]() -> task<void> {
    auto l = tcp_listener::bind(any_local());
    CO_ASSERT_TRUE(l.has_value());
    endpoint at = *l->local_endpoint();
    // Use up descriptors with placeholder files, leaving too few for a connect plus its accept.
    rlimit low = old;
    low.rlim_cur = 64;
    setrlimit(RLIMIT_NOFILE, &low);
    std::vector<int> fillers;
    for (int fd; (fd = dup(0)) >= 0;) fillers.push_back(fd);
    close(fillers.back());  // room for the client socket only
    fillers.pop_back();
    auto c = co_await tcp_stream::connect(at);
    CO_ASSERT_TRUE(c.has_value());
    auto a = co_await l->accept();
    CO_ASSERT_TRUE(!a);
    EXPECT_EQ(a.error(), std::errc::too_many_files_open);
    for (int fd : fillers) close(fd);
    setrlimit(RLIMIT_NOFILE, &old);
    auto b = co_await l->accept();  // the same pending connection, now that there is room
    CO_ASSERT_TRUE(b.has_value());
    co_await c->write_all("ok");
    char buf[2];
    auto r = co_await b->read_exact(buf);
    EXPECT_TRUE(r.has_value());
  };
  run(body(), test::options());
  setrlimit(RLIMIT_NOFILE, &old);
}

TEST(net_tcp, closing_while_a_forked_child_holds_the_socket) {
  // A child forked before close() keeps the file open; its events must not reach the freed socket
  // state (ASan catches it if the socket is not removed from epoll before closing).
  auto body = []() -> task<void> {
    pair_t p = co_await connected_pair();
    pid_t child = fork();
    if (child == 0) {
      usleep(300'000);
      _exit(0);
    }
    p.server.close();
    co_await p.client.write_all("data for a closed socket");
    co_await sleep_for(50ms);
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
  };
  run(body(), test::options());
}

TEST(net_tcp, connect_by_name_resolves_and_connects) {
  auto body = []() -> task<void> {
    auto l = tcp_listener::bind(any_local());
    CO_ASSERT_TRUE(l.has_value());
    auto c = co_await tcp_stream::connect("localhost", l->local_endpoint()->port);
    CO_ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->remote_endpoint()->address, ip_address::loopback_v4());
    auto none = co_await tcp_stream::connect("no-such-host.invalid", 80, 2s);
    EXPECT_FALSE(none.has_value());
  };
  run(body(), test::options());
}

TEST(net_tcp, happy_eyeballs_moves_on_at_once_after_a_refusal) {
  auto body = []() -> task<void> {
    auto closed = tcp_listener::bind(any_local());
    auto good = tcp_listener::bind(any_local());
    CO_ASSERT_TRUE(closed.has_value() && good.has_value());
    endpoint refused_at = *closed->local_endpoint();
    closed->close();
    auto start = std::chrono::steady_clock::now();
    // With a 2 s attempt delay, only an immediate start after the refusal connects quickly.
    // (push_back, not a braced list: g++ 12 cannot build an initializer_list inside a coroutine)
    std::vector<endpoint> candidates;
    candidates.push_back(refused_at);
    candidates.push_back(*good->local_endpoint());
    auto c = co_await tcp_stream::connect_any(candidates, 10s, 2s);
    CO_ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->remote_endpoint()->port, good->local_endpoint()->port);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    std::vector<endpoint> both_refused(2, refused_at);
    auto all_refused = co_await tcp_stream::connect_any(both_refused, 10s, 2s);
    CO_ASSERT_TRUE(!all_refused);
    EXPECT_EQ(all_refused.error(), std::errc::connection_refused);
  };
  run(body(), test::options());
}

TEST(net_tcp, happy_eyeballs_races_a_hanging_attempt) {
  auto body = []() -> task<void> {
    // A listener whose accept queue is full drops new SYNs: connecting to it hangs.
    auto full = tcp_listener::bind(any_local(), {.backlog = 1});
    CO_ASSERT_TRUE(full.has_value());
    endpoint hang_at = *full->local_endpoint();
    std::vector<tcp_stream> fillers;
    for (int i = 0; i < 4; ++i) {
      auto f = co_await tcp_stream::connect(hang_at, 100ms);
      if (f) fillers.push_back(std::move(*f));
    }
    auto good = tcp_listener::bind(any_local());
    CO_ASSERT_TRUE(good.has_value());
    auto start = std::chrono::steady_clock::now();
    std::vector<endpoint> candidates;
    candidates.push_back(hang_at);
    candidates.push_back(*good->local_endpoint());
    auto c = co_await tcp_stream::connect_any(candidates, 10s, 100ms);
    CO_ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->remote_endpoint()->port, good->local_endpoint()->port);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);  // the second waited its turn
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  };
  run(body(), test::options());
}

// Regression: an attempt that connects wakes the racing task, and the attempt delay's timer could
// still fire before that task ran, resuming a null handle. Hundreds of connects at once, each with a
// 1 ms attempt delay, keep the loop busy past the delay between the wake-up and the resumption.
TEST(net_tcp, happy_eyeballs_survives_its_delay_passing_after_a_win) {
  auto body = []() -> task<void> {
    auto l = tcp_listener::bind(any_local(), {.backlog = 1024});
    CO_ASSERT_TRUE(l.has_value());
    endpoint at = *l->local_endpoint();
    int connected = 0;
    auto one = [&]() -> task<void> {
      std::vector<endpoint> candidates(1, at);
      auto c = co_await tcp_stream::connect_any(std::move(candidates), 10s, 1ms);
      if (c) ++connected;
    };
    task_group group;
    for (int i = 0; i < 400; ++i) group.spawn(one());
    co_await group.join();
    EXPECT_EQ(connected, 400);
  };
  run(body(), test::options());
}

TEST(net_tcp, sockets_need_a_runtime) {
  auto l = tcp_listener::bind(any_local());
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error(), errc::not_in_runtime);
}
