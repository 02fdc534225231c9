// Scale: a million tasks and a million concurrent sleeps. Counts, not timings: timings live in bench/.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {
task<void> bump(std::atomic<long>& n) {
  n.fetch_add(1);  // atomic (and releasing): with several workers, tasks run in parallel
  co_return;
}
}  // namespace

TEST(stress_many, million_spawned_tasks) {
  auto body = []() -> task<long> {
    std::atomic<long> n = 0;
    for (int i = 0; i < 1'000'000; ++i) spawn(bump(n)).detach();
    while (n.load() < 1'000'000) co_await yield_now();
    co_return n.load();
  };
  runtime rt(test::options());
  EXPECT_EQ(rt.block_on(body()), 1'000'000);
  EXPECT_EQ(test::settled_live_tasks(rt), 0u);
}

TEST(stress_many, million_concurrent_sleeps_on_virtual_time) {
  auto body = []() -> task<void> {
    long woke = 0;
    std::mt19937 rng(7);
    clock::time_point start = clock::now();
    clock::time_point last_deadline = start;
    {
      task_group g;
      for (int i = 0; i < 1'000'000; ++i) {
        auto d = std::chrono::milliseconds(rng() % 1000);
        if (start + d > last_deadline) last_deadline = start + d;
        g.spawn([&woke, d]() -> task<void> {
          if (auto r = co_await sleep_for(d)) ++woke;
        });
      }
      co_await g.join();
    }
    EXPECT_EQ(woke, 1'000'000);
    EXPECT_EQ(clock::now(), last_deadline);  // the last sleeper woke exactly at its deadline
  };
  test::run_paused(body());
}

TEST(stress_many, hundred_thousand_real_sleeps) {
  auto body = []() -> task<void> {
    long woke = 0;
    auto start = std::chrono::steady_clock::now();
    task_group g;
    for (int i = 0; i < 100'000; ++i) {
      g.spawn([&woke, i]() -> task<void> {
        if (auto r = co_await sleep_for(std::chrono::milliseconds(i % 200))) ++woke;
      });
    }
    co_await g.join();
    EXPECT_EQ(woke, 100'000);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 199ms);
  };
  run(body(), test::options());
}

// A burst of ended tasks parks their frames in the frame cache (so that freeing them is not on the
// critical path); an idle loop then hands what is above the cache's resting size back to malloc.
// Sanitizer builds bypass the cache: there is nothing to park or trim, and the test says only that.
TEST(stress_many, an_idle_loop_returns_a_burst_of_frames_to_malloc) {
  auto body = []() -> task<void> {
    std::atomic<long> n = 0;
    for (int i = 0; i < 300'000; ++i) spawn(bump(n)).detach();
    while (n.load() < 300'000) co_await yield_now();
    co_await yield_now();  // the last states are freed after the turn that ended their tasks
    bool parked = detail::frame_cache_trim(0);
    // (On several workers an idle one may already have trimmed it all.)
    if (!test::multi_worker()) {
      EXPECT_EQ(parked, WEFT_FRAME_CACHE == 1);
    }
    auto give_up = std::chrono::steady_clock::now() + 10s;
    while (detail::frame_cache_trim(0) && std::chrono::steady_clock::now() < give_up) co_await sleep_for(20ms);
    EXPECT_FALSE(detail::frame_cache_trim(0));
  };
  run(body(), test::options());
}
