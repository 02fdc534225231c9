// The scheduler's idle count (scheduler.hpp: a worker about to sleep counts itself idle, and uncounts
// itself when it wakes) must match the workers that really sleep: notify_one reads it to decide
// whether anyone needs waking, and a count that only grows makes it wake busy workers that look asleep
// while the real sleepers stay asleep.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../test_support.hpp"
#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"

namespace weft::detail {
namespace {

using namespace std::chrono_literals;

/// Two tasks on different workers pass a token back and forth: each wake-up is posted to a worker
/// that is (about to go) asleep, so the workers often find work in the last look before sleeping.
task<void> ping_pong(scheduler& sched, int rounds) {
  channel<int> ping(1);
  channel<int> pong(1);
  join_handle<void> other = spawn_on(&sched.at(1), "pong", nullptr, [&]() -> task<void> {
    for (int i = 0; i < rounds; ++i) {
      auto v = co_await ping.receive();
      if (!v) co_return;
      (void)co_await pong.send(*v);
    }
  }, /*pinned=*/true);
  for (int i = 0; i < rounds; ++i) {
    (void)co_await ping.send(i);
    (void)co_await pong.receive();
  }
  co_await std::move(other);
}

TEST(scheduler_idle, the_idle_count_never_exceeds_the_workers) {
  runtime_options o;
  o.workers = 2;
  scheduler sched(o, 2);
  for (int trial = 0; trial < 20; ++trial) {
    join_handle<void> h = spawn_on(&sched.at(0), "ping", nullptr, ping_pong(sched, 2000), true);
    while (!h.done()) std::this_thread::sleep_for(1ms);
    ASSERT_LE(sched.idle_count(), 2) << "after trial " << trial;
  }
  // Quiet now: both workers go to sleep, and the count says two.
  for (int i = 0; i < 2000 && sched.idle_count() != 2; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(sched.idle_count(), 2);
}

}  // namespace
}  // namespace weft::detail
