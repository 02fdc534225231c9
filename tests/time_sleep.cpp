#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

task<void> sleep_and_log(clock::duration d, int id, std::vector<std::pair<int, long long>>& log,
                         clock::time_point start) {
  auto r = co_await sleep_for(d);
  EXPECT_TRUE(r);
  log.emplace_back(id, test::ms_since(start));
}

}  // namespace

TEST(time_sleep, sleepers_wake_in_deadline_order_at_exact_virtual_times) {
  auto body = []() -> task<std::vector<std::pair<int, long long>>> {
    std::vector<std::pair<int, long long>> log;
    clock::time_point start = clock::now();
    task_group g;
    g.spawn(sleep_and_log(300ms, 3, log, start));
    g.spawn(sleep_and_log(100ms, 1, log, start));
    g.spawn(sleep_and_log(5000ms, 5, log, start));  // crosses wheel levels
    g.spawn(sleep_and_log(200ms, 2, log, start));
    g.spawn(sleep_and_log(70min, 6, log, start));  // level 3
    g.spawn(sleep_and_log(4100ms, 4, log, start));
    co_await g.join();
    co_return log;
  };
  auto log = test::run_paused(body());
  std::vector<std::pair<int, long long>> expected{{1, 100}, {2, 200}, {3, 300}, {4, 4100}, {5, 5000}, {6, 4'200'000}};
  EXPECT_EQ(log, expected);
}

TEST(time_sleep, deadline_in_the_past_completes_without_suspending) {
  auto body = []() -> task<long long> {
    clock::time_point start = clock::now();
    auto r = co_await sleep_until(start - 1s);
    EXPECT_TRUE(r);
    co_await sleep_for(0ms);
    co_return test::ms_since(start);
  };
  EXPECT_EQ(test::run_paused(body()), 0);
}

TEST(time_sleep, sub_millisecond_sleep_never_ends_early) {
  auto body = []() -> task<clock::duration> {
    clock::time_point start = clock::now();
    co_await sleep_for(300us);
    co_return clock::now() - start;
  };
  EXPECT_GE(test::run_paused(body()), 300us);
}

TEST(time_sleep, real_clock_sleep_waits_at_least_the_duration) {
  auto body = []() -> task<clock::duration> {
    auto start = std::chrono::steady_clock::now();
    co_await sleep_for(30ms);
    co_return std::chrono::steady_clock::now() - start;
  };
  auto took = run(body());
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 2s);  // generous: shared machines are noisy, but it must end
}

TEST(time_sleep, interval_ticks_on_a_grid_and_skips_missed_ticks) {
  auto body = []() -> task<std::vector<long long>> {
    std::vector<long long> at;
    clock::time_point start = clock::now();
    interval every(100ms);
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(co_await every.tick());
      at.push_back(test::ms_since(start));
    }
    co_await sleep_for(250ms);  // busy past ticks 300 and 400 (relative to the first)
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(co_await every.tick());
      at.push_back(test::ms_since(start));
    }
    co_return at;
  };
  // First tick at once; 100, 200; the sleep ends at 450: the missed ticks (300, 400) yield one late tick
  // at once, then the grid resumes at 500.
  EXPECT_EQ(test::run_paused(body()), (std::vector<long long>{0, 100, 200, 450, 500}));
}

TEST(time_sleep, advance_moves_virtual_time_and_wakes_sleepers) {
  if (!test::fifo_order()) GTEST_SKIP() << "asserts the order of tasks sharing one loop";
  auto body = []() -> task<std::vector<int>> {
    std::vector<int> woke;
    auto a = spawn([&]() -> task<void> {
      co_await sleep_for(10ms);
      woke.push_back(10);
    });
    auto b = spawn([&]() -> task<void> {
      co_await sleep_for(50ms);
      woke.push_back(50);
    });
    co_await yield_now();  // let both arm their timers
    co_await advance(20ms);
    EXPECT_EQ(woke, std::vector<int>{10});
    co_await advance(40ms);
    co_await std::move(a);
    co_await std::move(b);
    co_return woke;
  };
  EXPECT_EQ(test::run_paused(body()), (std::vector<int>{10, 50}));
}

TEST(time_sleep, clock_outside_runtime_is_steady) {
  auto a = clock::now();
  auto b = clock::now();
  EXPECT_LE(a, b);
}
