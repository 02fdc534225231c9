#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

task<int> slow_value(clock::duration d, int v, bool* saw_cancel = nullptr) {
  auto r = co_await sleep_for(d);
  if (!r && saw_cancel != nullptr) *saw_cancel = r.error() == errc::operation_canceled;
  co_return v;
}

task<result<std::string>> fallible(clock::duration d, bool ok) {
  co_await sleep_for(d);
  if (!ok) co_return fail(errc::invalid_argument);
  co_return "fine";
}

}  // namespace

TEST(time_timeout, expires_cancels_child_and_waits_for_it) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    bool saw_cancel = false;
    result<int> r = co_await timeout(50ms, slow_value(10s, 1, &saw_cancel));
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_TRUE(saw_cancel);  // the child ran to its end, seeing operation_canceled
    EXPECT_EQ(test::ms_since(start), 50);
  };
  test::run_paused(body());
}

TEST(time_timeout, completes_in_time_with_value) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    result<int> r = co_await timeout(1s, slow_value(20ms, 9));
    CO_ASSERT_TRUE(r);
    EXPECT_EQ(*r, 9);
    EXPECT_EQ(test::ms_since(start), 20);
    // Its timer was released: nothing wakes this loop at the 1 s mark, so the next sleep ends on time.
    co_await sleep_for(5ms);
    EXPECT_EQ(test::ms_since(start), 25);
  };
  test::run_paused(body());
}

TEST(time_timeout, result_passes_through_unwrapped) {
  auto body = []() -> task<void> {
    result<std::string> ok = co_await timeout(1s, fallible(1ms, true));
    EXPECT_EQ(ok.value(), "fine");
    result<std::string> bad = co_await timeout(1s, fallible(1ms, false));
    EXPECT_EQ(bad.error(), errc::invalid_argument);
    result<std::string> late = co_await timeout(1ms, fallible(1s, true));
    EXPECT_EQ(late.error(), errc::timed_out);
  };
  test::run_paused(body());
}

TEST(time_timeout, wraps_plain_awaitables) {
  auto body = []() -> task<void> {
    result<void> slept = co_await timeout(10ms, sleep_for(1ms));  // sleep's own result<void>
    EXPECT_TRUE(slept);
    result<void> cut = co_await timeout(1ms, sleep_for(10ms));
    EXPECT_EQ(cut.error(), errc::timed_out);
    auto h = spawn(slow_value(1h, 4));
    result<int> joined = co_await timeout(5ms, std::move(h));  // cancelling the join cancels the task
    EXPECT_EQ(joined.error(), errc::timed_out);
  };
  test::run_paused(body());
}

TEST(time_timeout, exception_from_child_is_rethrown) {
  auto body = []() -> task<void> {
    auto thrower = []() -> task<int> {
      co_await sleep_for(1ms);
      throw std::runtime_error("inner");
    };
    EXPECT_THROW(co_await timeout(1s, thrower()), std::runtime_error);
  };
  test::run_paused(body());
}

TEST(time_timeout, same_tick_deadlines_fire_safely) {
  // The timeout's timer and the child's sleep share a wheel slot: firing one removes the other.
  auto body = []() -> task<void> {
    for (int i = 0; i < 100; ++i) {
      result<void> r = co_await timeout(10ms, sleep_for(10ms));
      EXPECT_TRUE(r || r.error() == errc::timed_out);
    }
  };
  test::run_paused(body());
}

TEST(time_timeout, outer_cancellation_reaches_child) {
  auto body = []() -> task<void> {
    auto h = spawn([]() -> task<result<int>> { co_return co_await timeout(1h, slow_value(1h, 2)); });
    co_await sleep_for(1ms);
    h.cancel();
    result<int> r = co_await std::move(h);
    CO_ASSERT_TRUE(r);  // the child saw the cancel, returned its value, and timeout passed it on
    EXPECT_EQ(*r, 2);
  };
  test::run_paused(body());
}
