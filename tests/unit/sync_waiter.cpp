// The sync_waiter protocol (weft/detail/sync_waiter.hpp), with the window between a settler's
// `settle` and its `wake_settled` opened by hand on one loop: what another thread's settler would do
// in that window is done here step by step, so the test is deterministic. The model checker explores
// the same window across threads (tests/model/).
#include <weft/detail/sync_waiter.hpp>

#include <gtest/gtest.h>

#include <mutex>

#include "../test_support.hpp"

namespace weft::detail {
namespace {

/// One paused loop, whatever the suite's flavour: the tests play another thread's part on this one.
template <class T>
T run_paused(task<T> t) {
  runtime_options o;
  o.start_paused = true;
  return run(std::move(t), o);
}

/// The smallest primitive on sync_waiter: one list of parked waiters, never satisfied on its own.
struct gate {
  spin_lock lock;
  waiter_list parked;

  bool suspend(sync_waiter* w, std::coroutine_handle<> h, context* ctx, bool cancellable) noexcept {
    std::lock_guard guard(lock);
    park(w, &lock, &parked, h, ctx, suspend_reason::event, cancellable);
    return true;
  }
  void_wait_awaiter<gate> wait() noexcept { return void_wait_awaiter<gate>(this); }
};

TEST(sync_waiter, a_cancel_after_settle_does_not_take_back_what_was_handed_over) {
  gate g;
  int resumes = 0;
  result<void> got = fail(errc::not_in_runtime);
  run_paused([&]() -> task<void> {
    join_handle<void> waiter = spawn([&]() -> task<void> {
      got = co_await g.wait();
      ++resumes;
    });
    while (g.parked.empty()) co_await yield_now();  // the waiter parks

    // A settler takes the waiter and hands it the value (under the lock)...
    wake_list wakes;
    {
      std::lock_guard guard(g.lock);
      settle(claim_front(&g.parked, wakes), wait_outcome::satisfied, wakes);
    }
    // ...and before it wakes it, the waiter's own loop cancels the waiter.
    waiter.cancel();
    // The settler goes on: the waiter is still on its wake list, and wakes as satisfied.
    EXPECT_FALSE(wakes.items.empty());
    wake_settled(wakes);
    co_await std::move(waiter);
  }());
  EXPECT_EQ(resumes, 1);
  EXPECT_TRUE(got.has_value()) << "the handed-over outcome was reported as " << got.error().message();
}

TEST(sync_waiter, a_cancel_before_settle_unlinks_the_waiter) {
  gate g;
  result<void> got;
  run_paused([&]() -> task<void> {
    join_handle<void> waiter = spawn([&]() -> task<void> { got = co_await g.wait(); });
    while (g.parked.empty()) co_await yield_now();
    waiter.cancel();
    EXPECT_TRUE(g.parked.empty());
    co_await std::move(waiter);
  }());
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), errc::operation_canceled);
}

}  // namespace
}  // namespace weft::detail
