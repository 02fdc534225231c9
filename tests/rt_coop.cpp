// The cooperative budget (weft/detail/coop.hpp): a task whose awaits all complete at once still lets
// its loop run the other tasks, the timers and the I/O. Each kind of await point that can complete
// without waiting is driven in a loop that only a timer on the same loop can stop; before the budget,
// each of these loops held its loop until the wall-clock bound below.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "test_support.hpp"

using namespace weft;
using namespace weft::net;
using namespace std::chrono_literals;

namespace {

using wall = std::chrono::steady_clock;
constexpr auto give_up_after = 3s;  // the loop under test stops by itself after this: a failure, not a hang

/// Awaits `step` until `stop` is set or give_up_after has passed; true if `stop` ended it.
task<bool> spin_until(const std::atomic<bool>& stop, std::function<task<void>()> step) {
  auto until = wall::now() + give_up_after;
  while (!stop.load() && wall::now() < until) co_await step();
  co_return stop.load();
}

task<void> set_after(std::atomic<bool>& flag, clock::duration d) {
  (void)co_await sleep_for(d);
  flag = true;
}

/// The timer task and the spinning task on one loop (the caller's): true if the timer stopped it.
task<bool> timer_stops(std::function<task<void>()> step) {
  std::atomic<bool> fired{false};
  auto timer = spawn(set_after(fired, 5ms));
  bool stopped = co_await spin_until(fired, std::move(step));
  co_await std::move(timer);
  co_return stopped;
}

bool timer_stops_on_one_loop(std::function<task<void>()> step) { return run(timer_stops(std::move(step))); }

}  // namespace

TEST(rt_coop, a_loop_of_sleeps_of_zero_lets_a_timer_fire) {
  EXPECT_TRUE(timer_stops_on_one_loop([]() -> task<void> { (void)co_await sleep_for(0ms); }));
}

TEST(rt_coop, a_loop_on_a_channel_that_always_has_room_and_a_value_lets_a_timer_fire) {
  channel<int> ch(1);
  EXPECT_TRUE(timer_stops_on_one_loop([&ch]() -> task<void> {
    (void)co_await ch.send(1);
    (void)co_await ch.receive();
  }));
}

TEST(rt_coop, a_loop_on_a_set_event_an_open_semaphore_and_a_free_mutex_lets_a_timer_fire) {
  event ev;
  ev.set();
  semaphore sem(1);
  mutex mu;
  EXPECT_TRUE(timer_stops_on_one_loop([&]() -> task<void> {
    (void)co_await ev.wait();
    if (co_await sem.acquire()) sem.release();
    (void)co_await mu.lock();
  }));
}

TEST(rt_coop, a_loop_on_a_ready_oneshot_lets_a_timer_fire) {
  EXPECT_TRUE(timer_stops_on_one_loop([]() -> task<void> {
    auto [tx, rx] = make_oneshot<int>();
    (void)tx.send(1);
    (void)co_await std::move(rx);
  }));
}

// Writes that the kernel always takes whole: a plain thread drains the peer as fast as it can.
TEST(rt_coop, a_loop_of_writes_that_never_wait_lets_a_timer_fire) {
  bool stopped = run([]() -> task<bool> {
    auto l = tcp_listener::bind(endpoint{ip_address::loopback_v4(), 0});
    EXPECT_TRUE(l);
    auto at = l->local_endpoint();
    auto c = co_await tcp_stream::connect(*at);
    EXPECT_TRUE(c);
    auto s = co_await l->accept();
    EXPECT_TRUE(s);
    int peer = c->native_handle();
    std::thread drain([peer] {
      char buf[65536];
      while (::read(peer, buf, sizeof buf) > 0) {
      }
    });
    bool by_timer = co_await timer_stops([&s]() -> task<void> { (void)co_await s->write_all("x"); });
    ::shutdown(peer, SHUT_RDWR);  // ends the drain's read
    drain.join();
    co_return by_timer;
  }());
  EXPECT_TRUE(stopped);
}

// The cancel of a timeout is a timer too: it cuts a task that never waits.
TEST(rt_coop, a_timeout_cuts_a_task_that_never_waits) {
  auto start = wall::now();
  auto r = test::run_test([]() -> task<result<void>> {
    co_return co_await timeout(10ms, []() -> task<void> {
      auto until = wall::now() + give_up_after;
      while (wall::now() < until) {
        if (!co_await sleep_for(0ms)) co_return;  // cancelled
      }
    }());
  }());
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_LT(wall::now() - start, give_up_after);
}

// The budget: one yield in each coop_budget (128) awaits that complete at once, and none before.
TEST(rt_coop, the_budget_is_128_awaits_that_complete_at_once) {
  if (!test::fifo_order()) GTEST_SKIP() << "counts the yields of one loop without chaos";
  runtime rt;
  rt.block_on([]() -> task<void> {
    for (int i = 0; i < 1000; ++i) (void)co_await sleep_for(0ms);
  }());
  EXPECT_EQ(rt.metrics().workers.at(0).coop_yields, 1000u / 128u);
  runtime fresh;
  fresh.block_on([]() -> task<void> {
    for (int i = 0; i < 127; ++i) (void)co_await sleep_for(0ms);
  }());
  EXPECT_EQ(fresh.metrics().workers.at(0).coop_yields, 0u);
}

// Under chaos, an await point that completes at once sometimes yields anyway (about one in four), so
// that the code after it meets the other tasks' interleavings too. A yield loses nothing: every value
// sent arrives, in order.
TEST(rt_coop, under_chaos_awaits_that_complete_at_once_yield_at_random_and_lose_nothing) {
  runtime_options o = test::options();
  o.chaos_seed = 20261207;
  runtime rt(o);
  int received = rt.block_on([]() -> task<int> {
    channel<int> ch(64);
    int got = 0;
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < 64; ++i) (void)co_await ch.send(round * 64 + i);
      for (int i = 0; i < 64; ++i) {
        auto v = co_await ch.receive();
        EXPECT_TRUE(v);
        if (v && *v == got) ++got;
      }
    }
    co_return got;
  }());
  EXPECT_EQ(received, 640);
  std::uint64_t yields = 0;
  for (const auto& w : rt.metrics().workers) yields += w.coop_yields;
  EXPECT_GT(yields, 100u);   // ~320 expected of 1,280 awaits
  EXPECT_LT(yields, 1280u);  // not every one
}
