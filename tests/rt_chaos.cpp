// Chaos mode (runtime_options::chaos_seed): on one loop a seed replays its run exactly, and it does
// perturb the order (a different seed gives another one). Timers stay exact on virtual time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

/// The order in which 8 tasks, each yielding a few times and sleeping once, take their steps.
std::vector<int> steps_under(std::uint64_t seed) {
  runtime_options o;
  o.chaos_seed = seed;
  o.start_paused = true;
  std::vector<int> order;
  run([&]() -> task<void> {
    auto start = clock::now();
    std::vector<join_handle<void>> hs;
    for (int t = 0; t < 8; ++t) {
      hs.push_back(spawn([&order, t, start]() -> task<void> {
        for (int k = 0; k < 4; ++k) {
          order.push_back(t);
          co_await yield_now();
        }
        (void)co_await sleep_for(std::chrono::milliseconds(t));
        EXPECT_EQ(test::ms_since(start), t);  // virtual time: no jitter
        order.push_back(100 + t);
      }));
    }
    co_await join_all(hs);
  }(), o);
  return order;
}

}  // namespace

TEST(rt_chaos, a_seed_replays_a_one_loop_run_exactly) {
  if (test::shuffled()) GTEST_SKIP() << "compares orders drawn from chosen seeds";
  std::vector<int> first = steps_under(12345);
  EXPECT_EQ(first.size(), 8u * 5u);
  EXPECT_EQ(steps_under(12345), first);
  // Another seed, another order (checked over a few seeds: any one could coincide by chance).
  bool differs = false;
  for (std::uint64_t seed = 1; seed <= 4 && !differs; ++seed) differs = steps_under(seed) != first;
  EXPECT_TRUE(differs);
}
