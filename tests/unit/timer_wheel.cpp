#include "time/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

using weft::detail::timer_entry;
using weft::detail::timer_wheel;

namespace {

struct probe : timer_entry {
  std::vector<std::pair<int, std::uint64_t>>* log = nullptr;
  timer_wheel* wheel = nullptr;
  int id = 0;
  static void on_fire(timer_entry* e) noexcept {
    auto* p = static_cast<probe*>(e);
    p->log->emplace_back(p->id, p->wheel->elapsed());
  }
};

struct fixture {
  timer_wheel wheel;
  std::vector<std::pair<int, std::uint64_t>> log;
  std::vector<std::unique_ptr<probe>> probes;

  probe* add(int id, std::uint64_t tick) {
    auto p = std::make_unique<probe>();
    p->log = &log;
    p->wheel = &wheel;
    p->id = id;
    p->tick = tick;
    p->fire = &probe::on_fire;
    wheel.insert(p.get());
    probes.push_back(std::move(p));
    return probes.back().get();
  }
};

}  // namespace

TEST(timer_wheel, fires_in_order_at_their_ticks_across_levels) {
  fixture f;
  f.add(1, 5);
  f.add(2, 64);
  f.add(3, 4096 + 7);
  f.add(4, 63);
  f.add(5, 300'000);
  f.add(6, 5);
  EXPECT_EQ(f.wheel.size(), 6u);
  f.wheel.advance(1'000'000);
  std::vector<std::pair<int, std::uint64_t>> expected{{1, 5}, {6, 5}, {4, 63}, {2, 64}, {3, 4103}, {5, 300'000}};
  EXPECT_EQ(f.log, expected);
  EXPECT_TRUE(f.wheel.empty());
  EXPECT_EQ(f.wheel.elapsed(), 1'000'000u);
}

TEST(timer_wheel, next_expiration_and_partial_advance) {
  fixture f;
  EXPECT_FALSE(f.wheel.next_expiration());
  f.add(1, 10);
  f.add(2, 100);
  EXPECT_EQ(f.wheel.next_expiration(), 10u);
  f.wheel.advance(50);
  EXPECT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.wheel.elapsed(), 50u);
  // 100 sits at level 1 (slot start 64); the next thing to do is that slot's cascade, never later than 100.
  ASSERT_TRUE(f.wheel.next_expiration());
  EXPECT_LE(*f.wheel.next_expiration(), 100u);
  f.wheel.advance(99);
  EXPECT_EQ(f.log.size(), 1u);
  f.wheel.advance(100);
  EXPECT_EQ(f.log.back(), (std::pair<int, std::uint64_t>{2, 100}));
}

TEST(timer_wheel, remove_unlinks_and_clears_occupancy) {
  fixture f;
  probe* a = f.add(1, 20);
  probe* b = f.add(2, 20);
  f.wheel.remove(a);
  EXPECT_FALSE(a->linked());
  f.wheel.remove(a);  // idempotent
  EXPECT_EQ(f.wheel.size(), 1u);
  f.wheel.remove(b);
  EXPECT_FALSE(f.wheel.next_expiration());
  f.wheel.advance(100);
  EXPECT_TRUE(f.log.empty());
}

TEST(timer_wheel, past_deadline_moves_to_next_tick_and_far_deadline_waits_at_the_range_end) {
  fixture f;
  f.wheel.advance(1000);
  f.add(1, 3);  // already past
  f.wheel.advance(1001);
  EXPECT_EQ(f.log, (std::vector<std::pair<int, std::uint64_t>>{{1, 1001}}));
  probe* never = f.add(2, ~std::uint64_t{0});
  EXPECT_EQ(never->tick, ~std::uint64_t{0});  // kept: it is filed at the range's end, not moved there
  EXPECT_TRUE(f.wheel.next_expiration().has_value());
}

TEST(timer_wheel, a_deadline_past_the_range_never_fires_early) {
  fixture f;
  std::uint64_t due = timer_wheel::max_ticks + 5000;  // beyond one range from 0
  f.add(1, due);
  f.wheel.advance(timer_wheel::max_ticks);  // the range's end: filed again, further on
  EXPECT_TRUE(f.log.empty());
  EXPECT_EQ(f.wheel.size(), 1u);
  f.wheel.advance(due - 1);
  EXPECT_TRUE(f.log.empty());
  f.wheel.advance(due);
  EXPECT_EQ(f.log, (std::vector<std::pair<int, std::uint64_t>>{{1, due}}));
  // "No limit" (the largest tick) is re-filed at every range's end and never fires.
  f.add(2, ~std::uint64_t{0});
  f.wheel.advance(due + 3 * timer_wheel::max_ticks);
  EXPECT_EQ(f.log.size(), 1u);
  EXPECT_EQ(f.wheel.size(), 1u);
}

TEST(timer_wheel, matches_a_sorted_model_under_random_operations) {
  std::mt19937_64 rng(99);
  fixture f;
  std::multimap<std::uint64_t, int> model;
  std::vector<probe*> live;
  std::uint64_t now = 0;
  std::vector<std::pair<int, std::uint64_t>> expected;
  for (int step = 0; step < 20'000; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 6) {
      std::uint64_t span = (rng() % 4 == 0) ? 10'000'000 : 5000;
      std::uint64_t when = now + 1 + rng() % span;
      probe* p = f.add(step, when);
      model.emplace(when, step);
      live.push_back(p);
    } else if (op < 8 && !live.empty()) {
      std::size_t k = rng() % live.size();
      probe* p = live[k];
      if (p->linked()) {
        for (auto it = model.lower_bound(p->tick); it != model.end(); ++it) {
          if (it->second == p->id) {
            model.erase(it);
            break;
          }
        }
        f.wheel.remove(p);
      }
      live[k] = live.back();
      live.pop_back();
    } else {
      now += rng() % 3000;
      while (!model.empty() && model.begin()->first <= now) {
        expected.emplace_back(model.begin()->second, model.begin()->first);
        model.erase(model.begin());
      }
      f.wheel.advance(now);
    }
  }
  // Within one tick the wheel fires in insertion order; the model (a multimap) keeps insertion order too.
  EXPECT_EQ(f.log, expected);
  EXPECT_EQ(f.wheel.size(), model.size());
}
