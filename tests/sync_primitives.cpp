// The thread-safe primitives, on one loop and (WEFT_TEST_WORKERS) on several workers.
#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

TEST(sync_event, wakes_every_waiter_and_stays_set) {
  auto body = []() -> task<void> {
    event e;
    std::atomic<int> woke = 0;
    std::vector<join_handle<void>> waiters;
    for (int i = 0; i < 10; ++i) {
      waiters.push_back(spawn([&]() -> task<void> {
        auto r = co_await e.wait();
        EXPECT_TRUE(r.has_value());
        woke.fetch_add(1);
      }));
    }
    co_await sleep_for(10ms);
    EXPECT_EQ(woke.load(), 0);
    e.set();
    for (auto& w : waiters) co_await std::move(w);
    EXPECT_EQ(woke.load(), 10);
    auto again = co_await e.wait();  // set: completes at once
    EXPECT_TRUE(again.has_value());
    e.reset();
    EXPECT_FALSE(e.is_set());
  };
  test::run_paused(body());
}

TEST(sync_event, cancelled_waiter_gets_operation_canceled) {
  auto body = []() -> task<void> {
    event e;
    auto w = spawn([&]() -> task<result<void>> { co_return co_await e.wait(); });
    co_await sleep_for(5ms);
    w.cancel();
    auto r = co_await std::move(w);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::operation_canceled);
    e.set();  // nobody left waiting: nothing to wake, nothing to crash
  };
  test::run_paused(body());
}

TEST(sync_event, set_from_a_plain_thread_wakes_a_task) {
  auto body = []() -> task<void> {
    event e;
    std::thread t([&] {
      std::this_thread::sleep_for(20ms);
      e.set();
    });
    auto r = co_await e.wait();
    t.join();
    EXPECT_TRUE(r.has_value());
  };
  run(body(), test::options());
}

TEST(sync_semaphore, bounds_concurrency_and_serves_in_order) {
  auto body = []() -> task<void> {
    semaphore slots(3);
    std::atomic<int> inside = 0;
    std::atomic<int> most = 0;
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < 50; ++i) {
      hs.push_back(spawn([&]() -> task<void> {
        auto ok = co_await slots.acquire();
        EXPECT_TRUE(ok.has_value());
        int now = inside.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        co_await sleep_for(1ms);
        inside.fetch_sub(1);
        slots.release();
      }));
    }
    for (auto& h : hs) co_await std::move(h);
    EXPECT_EQ(most.load(), 3);
    EXPECT_EQ(slots.available(), 3u);
  };
  test::run_paused(body());
}

TEST(sync_semaphore, a_cancelled_waiter_takes_no_permit) {
  auto body = []() -> task<void> {
    semaphore s(1);
    CO_ASSERT_TRUE(s.try_acquire());
    auto w = spawn([&]() -> task<result<void>> { co_return co_await s.acquire(); });
    co_await sleep_for(5ms);
    w.cancel();
    auto r = co_await std::move(w);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::operation_canceled);
    s.release();
    EXPECT_EQ(s.available(), 1u);
    EXPECT_TRUE(s.try_acquire());
  };
  test::run_paused(body());
}

TEST(sync_mutex, excludes_across_awaits_and_workers) {
  auto body = []() -> task<void> {
    mutex m;
    long counter = 0;  // plain: the mutex is what makes this safe
    std::atomic<int> inside = 0;
    std::vector<join_handle<void>> hs;
    for (int t = 0; t < 8; ++t) {
      hs.push_back(spawn([&]() -> task<void> {
        for (int i = 0; i < 200; ++i) {
          auto g = co_await m.lock();
          EXPECT_TRUE(g.has_value());
          EXPECT_EQ(inside.fetch_add(1), 0);
          long seen = counter;
          co_await yield_now();  // hold the lock across an await
          counter = seen + 1;
          inside.fetch_sub(1);
        }
      }));
    }
    for (auto& h : hs) co_await std::move(h);
    EXPECT_EQ(counter, 8 * 200);
    EXPECT_TRUE(m.try_lock().has_value());
  };
  run(body(), test::options());
}

TEST(sync_wait_group, waits_for_every_done) {
  auto body = []() -> task<void> {
    wait_group wg;
    std::atomic<int> finished = 0;
    for (int i = 0; i < 20; ++i) {
      wg.add();
      spawn([&, i]() -> task<void> {
        co_await sleep_for(std::chrono::milliseconds(i));
        finished.fetch_add(1);
        wg.done();
      }).detach();
    }
    auto r = co_await wg.wait();
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(finished.load(), 20);
    EXPECT_EQ(wg.count(), 0u);
  };
  test::run_paused(body());
}

TEST(sync_channel, bounded_send_waits_until_a_receive_makes_room) {
  auto body = []() -> task<void> {
    channel<int> ch(2);
    EXPECT_TRUE(ch.try_send(1));
    EXPECT_TRUE(ch.try_send(2));
    auto full = ch.try_send(3);
    CO_ASSERT_TRUE(!full);
    EXPECT_EQ(full.error(), std::errc::operation_would_block);
    EXPECT_EQ(full.take_back(), 3);
    std::atomic<bool> sent = false;
    auto sender = spawn([&]() -> task<void> {
      auto r = co_await ch.send(3);
      EXPECT_TRUE(r);
      sent = true;
    });
    co_await sleep_for(5ms);
    EXPECT_FALSE(sent.load());
    auto a = co_await ch.receive();
    co_await std::move(sender);
    EXPECT_TRUE(sent.load());
    auto b = co_await ch.receive();
    auto c = co_await ch.receive();
    CO_ASSERT_TRUE(a && b && c);
    EXPECT_EQ(*a * 100 + *b * 10 + *c, 123);  // in the order sent
  };
  test::run_paused(body());
}

TEST(sync_channel, rendezvous_ping_pong) {
  auto body = []() -> task<void> {
    channel<int> ping(0);
    channel<int> pong(0);
    auto echo = spawn([ping, pong]() mutable -> task<void> {
      for (;;) {
        auto v = co_await ping.receive();
        if (!v) co_return;
        auto s = co_await pong.send(*v + 1);
        EXPECT_TRUE(s);
      }
    });
    for (int i = 0; i < 10'000; ++i) {
      auto s = co_await ping.send(i);
      CO_ASSERT_TRUE(s);
      auto r = co_await pong.receive();
      CO_ASSERT_TRUE(r.has_value());
      EXPECT_EQ(*r, i + 1);
    }
    ping.close();
    co_await std::move(echo);
  };
  run(body(), test::options());
}

TEST(sync_channel, many_producers_many_consumers_lose_nothing) {
  auto body = []() -> task<void> {
    channel<long> ch(16);
    constexpr int producers = 4;
    constexpr int per_producer = 5'000;
    std::atomic<long> sum = 0;
    std::atomic<long> count = 0;
    std::vector<join_handle<void>> consumers;
    for (int c = 0; c < 3; ++c) {
      consumers.push_back(spawn([ch, &sum, &count]() mutable -> task<void> {
        for (;;) {
          auto v = co_await ch.receive();
          if (!v) {
            EXPECT_EQ(v.error(), errc::channel_closed);
            co_return;
          }
          sum.fetch_add(*v);
          count.fetch_add(1);
        }
      }));
    }
    std::vector<join_handle<void>> ps;
    for (int p = 0; p < producers; ++p) {
      ps.push_back(spawn([ch, p]() mutable -> task<void> {
        for (int i = 0; i < per_producer; ++i) {
          auto s = co_await ch.send(static_cast<long>(p) * per_producer + i);
          EXPECT_TRUE(s);
        }
      }));
    }
    for (auto& p : ps) co_await std::move(p);
    ch.close();
    for (auto& c : consumers) co_await std::move(c);
    long n = static_cast<long>(producers) * per_producer;
    EXPECT_EQ(count.load(), n);
    EXPECT_EQ(sum.load(), n * (n - 1) / 2);
  };
  run(body(), test::options());
}

TEST(sync_channel, close_drains_then_fails_and_hands_values_back) {
  auto body = []() -> task<void> {
    channel<std::string> ch(1);
    EXPECT_TRUE(ch.try_send("queued"));
    auto blocked = spawn([&]() -> task<send_result<std::string>> { co_return co_await ch.send("blocked"); });
    co_await sleep_for(5ms);
    ch.close();
    auto r = co_await std::move(blocked);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::channel_closed);
    EXPECT_EQ(r.take_back(), "blocked");
    auto first = co_await ch.receive();
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(*first, "queued");
    auto end = co_await ch.receive();
    CO_ASSERT_TRUE(!end);
    EXPECT_EQ(end.error(), errc::channel_closed);
    auto late = co_await ch.send("late");
    CO_ASSERT_TRUE(!late);
    EXPECT_EQ(late.take_back(), "late");
  };
  test::run_paused(body());
}

TEST(sync_channel, cancelled_send_gets_its_value_back) {
  auto body = []() -> task<void> {
    channel<std::string> ch(0);
    auto s = spawn([&]() -> task<send_result<std::string>> { co_return co_await ch.send("mine"); });
    co_await sleep_for(5ms);
    s.cancel();
    auto r = co_await std::move(s);
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::operation_canceled);
    EXPECT_EQ(r.take_back(), "mine");
    auto nothing = ch.try_receive();  // the cancelled value never entered the channel
    CO_ASSERT_TRUE(!nothing);
    EXPECT_EQ(nothing.error(), std::errc::operation_would_block);
  };
  test::run_paused(body());
}

TEST(sync_channel, plain_threads_feed_an_unbounded_channel) {
  auto body = []() -> task<void> {
    auto ch = channel<int>::unbounded();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([ch]() mutable {
        for (int i = 0; i < 1000; ++i) EXPECT_TRUE(ch.try_send(1));
      });
    }
    long total = 0;
    for (int i = 0; i < 4000; ++i) {
      auto v = co_await ch.receive();
      CO_ASSERT_TRUE(v.has_value());
      total += *v;
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(total, 4000);
  };
  run(body(), test::options());
}

TEST(sync_oneshot, delivers_once_from_a_thread) {
  auto body = []() -> task<void> {
    auto [tx, rx] = make_oneshot<std::string>();
    std::thread t([tx = std::move(tx)]() mutable {
      std::this_thread::sleep_for(10ms);
      EXPECT_TRUE(tx.send("hello"));
    });
    auto v = co_await std::move(rx);
    t.join();
    CO_ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, "hello");
  };
  run(body(), test::options());
}

TEST(sync_oneshot, dropped_ends_are_reported) {
  auto body = []() -> task<void> {
    {
      auto [tx, rx] = make_oneshot<int>();
      auto waiter = spawn([rx = std::move(rx)]() mutable -> task<result<int>> { co_return co_await std::move(rx); });
      co_await sleep_for(5ms);
      { auto gone = std::move(tx); }  // dropped unsent
      auto r = co_await std::move(waiter);
      CO_ASSERT_TRUE(!r);
      EXPECT_EQ(r.error(), errc::channel_closed);
    }
    {
      auto [tx, rx] = make_oneshot<int>();
      { auto gone = std::move(rx); }
      auto s = tx.send(7);
      CO_ASSERT_TRUE(!s);
      EXPECT_EQ(s.take_back(), 7);
    }
  };
  test::run_paused(body());
}
