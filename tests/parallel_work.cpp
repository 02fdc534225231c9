// spawn_blocking, offload, and the parallel algorithms on the compute pool.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

TEST(blocking, runs_off_the_loop_and_returns_the_value) {
  auto body = []() -> task<void> {
    auto loop_thread = std::this_thread::get_id();
    std::thread::id ran_on;
    int v = co_await spawn_blocking([&] {
      ran_on = std::this_thread::get_id();
      std::this_thread::sleep_for(20ms);  // a real blocking call
      return 42;
    });
    EXPECT_EQ(v, 42);
    EXPECT_NE(ran_on, loop_thread);
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);  // resumed on its own loop
  };
  run(body(), test::options());
}

TEST(blocking, the_loop_keeps_serving_while_calls_block) {
  auto body = []() -> task<void> {
    std::atomic<int> ticks = 0;
    auto ticker = spawn([&]() -> task<void> {
      for (int i = 0; i < 5; ++i) {
        co_await sleep_for(5ms);
        ticks.fetch_add(1);
      }
    });
    std::atomic<int> inside = 0;
    std::atomic<int> most = 0;
    std::vector<join_handle<void>> calls;
    for (int i = 0; i < 4; ++i) {
      calls.push_back(spawn([&]() -> task<void> {
        co_await spawn_blocking([&] {
          int now = ++inside;
          for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
          }
          std::this_thread::sleep_for(100ms);
          --inside;
        });
      }));
    }
    co_await std::move(ticker);
    EXPECT_EQ(ticks.load(), 5);  // all five ticks while four threads slept
    for (auto& c : calls) co_await std::move(c);
    EXPECT_GE(most.load(), 2);  // the sleeps overlapped (measured inside, not by a wall-clock bound)
  };
  run(body(), test::options());
}

TEST(blocking, exceptions_propagate_and_the_pool_is_bounded) {
  auto body = []() -> task<void> {
    bool caught = false;
    try {
      co_await spawn_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "disk on fire";
    }
    EXPECT_TRUE(caught);
    // Two threads at most: six 30 ms calls take three rounds.
    std::atomic<int> concurrent = 0;
    std::atomic<int> most = 0;
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < 6; ++i) {
      hs.push_back(spawn([&]() -> task<void> {
        co_await spawn_blocking([&] {
          int now = concurrent.fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(30ms);
          concurrent.fetch_sub(1);
        });
      }));
    }
    for (auto& h : hs) co_await std::move(h);
    EXPECT_EQ(most.load(), 2);
  };
  runtime_options o = test::options();
  o.max_blocking_threads = 2;
  run(body(), o);
}

TEST(blocking, cancelled_before_it_starts_it_never_runs) {
  auto body = []() -> task<void> {
    std::atomic<bool> second_ran = false;
    std::atomic<bool> first_running = false;
    std::atomic<bool> release_first = false;
    // The first job holds the only thread until the test lets it go, so the second stays queued.
    auto first = spawn([&]() -> task<void> {
      co_await spawn_blocking([&] {
        first_running = true;
        while (!release_first) std::this_thread::sleep_for(1ms);
      });
    });
    while (!first_running) co_await sleep_for(1ms);
    auto second = spawn([&]() -> task<void> { co_await spawn_blocking([&] { second_ran = true; }); });
    co_await sleep_for(5ms);  // queued by now, most likely; a cancel before it is queued ends it the same way
    second.cancel();  // still queued behind the first: one thread only
    bool cancelled = false;
    try {
      co_await std::move(second);
    } catch (const std::system_error& e) {
      cancelled = e.code() == errc::operation_canceled;
    }
    EXPECT_TRUE(cancelled);
    release_first = true;
    co_await std::move(first);
    EXPECT_FALSE(second_ran.load());
  };
  runtime_options o = test::options();
  o.max_blocking_threads = 1;
  run(body(), o);
}

TEST(offload, computes_on_the_compute_pool) {
  auto body = []() -> task<void> {
    auto loop_thread = std::this_thread::get_id();
    std::thread::id ran_on;
    double v = co_await offload([&] {
      ran_on = std::this_thread::get_id();
      double s = 0;
      for (int i = 1; i <= 1000; ++i) s += std::sqrt(static_cast<double>(i));
      return s;
    });
    EXPECT_GT(v, 21000.0);
    EXPECT_NE(ran_on, loop_thread);
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
  };
  run(body(), test::options());
}

TEST(parallel, for_touches_every_index_once_on_several_threads) {
  std::vector<std::atomic<int>> hits(100'000);
  std::mutex mu;
  std::set<std::thread::id> threads;
  parallel_for(0, hits.size(), [&](std::size_t i) {
    hits[i].fetch_add(1, std::memory_order_relaxed);
    if (i % 1000 == 0) {
      std::this_thread::sleep_for(100us);  // uneven, slow-ish chunks: others must steal
      std::lock_guard lock(mu);
      threads.insert(std::this_thread::get_id());
    }
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  EXPECT_GE(threads.size(), 2u);
}

TEST(parallel, transform_and_reduce_match_the_sequential_answer) {
  std::vector<long> in(1'000'003);
  std::iota(in.begin(), in.end(), 1);
  std::vector<long> out(in.size());
  parallel_transform(in, out.begin(), [](long x) { return x * 2; });
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], in[i] * 2);
  long sum = parallel_reduce(in, 0L, std::plus<>{});
  long n = static_cast<long>(in.size());
  EXPECT_EQ(sum, n * (n + 1) / 2);
  long squares = parallel_reduce(in, 0L, std::plus<>{}, [](long x) { return x % 7; });
  long expect = 0;
  for (long x : in) expect += x % 7;
  EXPECT_EQ(squares, expect);
  std::vector<int> empty;
  EXPECT_EQ(parallel_reduce(empty, 5, std::plus<>{}), 5);
  parallel_for(empty, [](int&) { FAIL(); });
}

TEST(parallel, the_first_exception_reaches_the_caller) {
  std::atomic<int> ran = 0;
  EXPECT_THROW(parallel_for(0, 10'000, [&](std::size_t i) {
                 ran.fetch_add(1);
                 if (i == 5) throw std::invalid_argument("bad item");
               }),
               std::invalid_argument);
  EXPECT_LT(ran.load(), 10'000);  // chunks after the failure were skipped
}

TEST(parallel, async_forms_leave_the_loop_free) {
  auto body = []() -> task<void> {
    std::vector<double> xs(200'000, 4.0);
    std::atomic<int> ticks = 0;
    auto ticker = spawn([&]() -> task<void> {
      for (int i = 0; i < 3; ++i) {
        co_await yield_now();
        ticks.fetch_add(1);
      }
    });
    co_await parallel_for_async(xs, [](double& x) { x = std::sqrt(x); });
    double total = co_await parallel_reduce_async(xs, 0.0, std::plus<>{});
    EXPECT_DOUBLE_EQ(total, 400'000.0);
    std::atomic<long> count = 0;
    co_await parallel_for_async(10, 20, [&](std::size_t) { count.fetch_add(1); });
    EXPECT_EQ(count.load(), 10);
    co_await std::move(ticker);
    EXPECT_EQ(ticks.load(), 3);
  };
  run(body(), test::options());
}

TEST(parallel, nested_calls_do_not_deadlock) {
  std::atomic<long> total = 0;
  parallel_for(0, 64, [&](std::size_t) {
    parallel_for(0, 100, [&](std::size_t) { total.fetch_add(1, std::memory_order_relaxed); });
  });
  EXPECT_EQ(total.load(), 6400);
}

// A runtime destroyed while a task waits in parallel_for_async: the task's frame (and the body in it)
// goes with the runtime, so no chunk may start after, nor run past, the destruction. (The compute
// threads used to go on calling the body in the destroyed frame: 3,825 calls after it was gone.)
TEST(parallel, a_destroyed_runtime_leaves_no_chunk_running) {
  std::atomic<bool> runtime_gone{false};
  std::atomic<int> calls_after{0};
  std::atomic<int> calls{0};
  {
    runtime rt(test::options());
    rt.block_on([](runtime& on, std::atomic<bool>& gone, std::atomic<int>& after, std::atomic<int>& made) -> task<void> {
      on.spawn([&gone, &after, &made]() -> task<void> {
        co_await parallel_for_async(0, 200000, [&gone, &after, &made](std::size_t) {
          ++made;
          test::spin_for(std::chrono::microseconds(20));
          if (gone.load()) ++after;
        });
      }).detach();
      while (made.load() == 0) co_await sleep_for(1ms);
    }(rt, runtime_gone, calls_after, calls));
  }
  runtime_gone = true;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls_after.load(), 0);
  EXPECT_LT(calls.load(), 200000);  // it was cut short, not run to its end by the destruction
}
