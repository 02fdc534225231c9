#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

task<std::error_code> sleep_result(clock::duration d) {
  auto r = co_await sleep_for(d);
  co_return r ? std::error_code{} : r.error();
}

task<std::error_code> nested_sleep(int depth, clock::duration d) {
  if (depth == 0) co_return co_await sleep_result(d);
  co_return co_await nested_sleep(depth - 1, d);
}

}  // namespace

TEST(task_cancel, cancelled_sleep_completes_with_operation_canceled_and_releases_timer) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    auto h = spawn(sleep_result(1h));
    co_await sleep_for(10ms);
    h.cancel();
    std::error_code ec = co_await std::move(h);
    EXPECT_EQ(ec, errc::operation_canceled);
    EXPECT_EQ(test::ms_since(start), 10);  // woke at the cancel, not at the hour
  };
  test::run_paused(body());
}

TEST(task_cancel, cancel_before_first_run_is_seen_at_first_await) {
  auto body = []() -> task<void> {
    auto h = spawn(sleep_result(1h));
    h.cancel();  // it has not run yet
    EXPECT_EQ(co_await std::move(h), errc::operation_canceled);
  };
  test::run_paused(body());
}

TEST(task_cancel, reaches_the_innermost_await_of_a_nested_chain) {
  auto body = []() -> task<void> {
    auto h = spawn(nested_sleep(50, 1h));
    co_await sleep_for(1ms);
    h.cancel();
    EXPECT_EQ(co_await std::move(h), errc::operation_canceled);
  };
  test::run_paused(body());
}

TEST(task_cancel, every_later_await_point_observes_it) {
  auto body = []() -> task<void> {
    auto h = spawn([]() -> task<int> {
      int canceled = 0;
      co_await sleep_for(1h);
      if (auto r = co_await sleep_for(1ms); !r) ++canceled;
      if (auto r = co_await yield_now(); !r) ++canceled;
      if (bool cancelled = co_await this_task::cancelled()) canceled += cancelled ? 1 : 0;
      co_return canceled;
    });
    co_await yield_now();
    h.cancel();
    EXPECT_EQ(co_await std::move(h), 3);
  };
  test::run_paused(body());
}

TEST(task_cancel, cancelling_a_joiner_cancels_what_it_joins) {
  auto body = []() -> task<void> {
    auto inner = spawn(sleep_result(1h));
    auto outer = spawn([h = std::move(inner)]() mutable -> task<std::error_code> { co_return co_await std::move(h); });
    co_await sleep_for(1ms);
    outer.cancel();
    EXPECT_EQ(co_await std::move(outer), errc::operation_canceled);
  };
  test::run_paused(body());
}

TEST(task_cancel, cancel_after_completion_is_harmless) {
  auto body = []() -> task<void> {
    auto h = spawn(sleep_result(1ms));
    co_await sleep_for(5ms);
    EXPECT_TRUE(h.done());
    h.cancel();
    EXPECT_EQ(co_await std::move(h), std::error_code{});
  };
  test::run_paused(body());
}

// A storm: many sleepers, cancelled in random order at random times, some twice, some after they
// finished. Under ASan this also proves nothing is leaked or touched after free.
TEST(task_cancel, storm_of_cancellations) {
  auto body = []() -> task<void> {
    std::mt19937 rng(12345);
    std::vector<join_handle<std::error_code>> handles;
    for (int i = 0; i < 20'000; ++i) handles.push_back(spawn(nested_sleep(i % 4, std::chrono::milliseconds(rng() % 100))));
    for (int round = 0; round < 50; ++round) {
      co_await sleep_for(std::chrono::milliseconds(rng() % 3));
      for (int k = 0; k < 600; ++k) handles[rng() % handles.size()].cancel();
    }
    int canceled = 0, finished = 0;
    for (auto& h : handles) {
      std::error_code ec = co_await std::move(h);
      if (ec == errc::operation_canceled) ++canceled;
      else if (!ec) ++finished;
    }
    EXPECT_EQ(canceled + finished, 20'000);
    EXPECT_GT(canceled, 1000);
    EXPECT_GT(finished, 1000);
  };
  test::run_paused(body());
}
