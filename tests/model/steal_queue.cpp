// Models of the work-stealing queue (src/runtime/steal_queue.hpp): its owner pushes and pops while a
// thief steals half. Property: every pushed item is taken exactly once, by the owner or the thief, with
// the payload its owner wrote (the item's fields are cells, so taking an item that was not published
// to the taker through the queue's release/acquire pairs is a data race).
//
// The queue's capacity is fixed (256), so these models do not reach a full queue or a wrap of its
// counters; three items are enough for every race between pop, pop_batch and steal_half.
#include <array>
#include <cstdint>

#include "runtime/steal_queue.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"

namespace weft::model {
namespace {

struct item {
  weft::detail::cell<int> payload;
  weft::detail::cell<int> taken;  // how many times someone took it
};

struct queue_state {
  weft::detail::steal_queue<item> queue;
  std::array<item, 3> items;

  void push(int k) {
    items[static_cast<std::size_t>(k)].payload.set(k + 1);
    WEFT_MODEL_REQUIRE(queue.push(&items[static_cast<std::size_t>(k)]));
  }
  void take(item* it) {
    WEFT_MODEL_REQUIRE(it >= &items[0] && it <= &items[2]);
    WEFT_MODEL_REQUIRE(it->payload.get() == static_cast<int>(it - &items[0]) + 1);
    it->taken.with_mut([](int& n) { ++n; });
  }
  void steal() {
    std::array<item*, weft::detail::steal_queue<item>::capacity / 2 + 1> out{};
    std::uint32_t n = queue.steal_half(out.data());
    for (std::uint32_t i = 0; i < n; ++i) take(out[i]);
  }
};

void each_taken_once(queue_state& s) {
  for (item& it : s.items) require(it.taken.get() == 1, "every item is taken exactly once");
  require(s.queue.empty(), "the queue is empty at the end");
}

// With std::atomic inside, the queue's operations would be invisible to the checker (and every model
// of it would pass after a handful of runs): its atomics must be weft::detail::atomic.
constexpr bool queue_is_modelled = sizeof(weft::detail::steal_queue<item>) >
                                   weft::detail::steal_queue<item>::capacity * sizeof(item*) + 128;
report not_modelled(std::string_view name) {
  report r;
  r.name = name;
  r.failed = true;
  r.failure = "src/runtime/steal_queue.hpp uses std::atomic: its atomics must be weft::detail::atomic "
              "(weft/detail/atomic.hpp) for the checker to see them";
  return r;
}

// The owner pushes three and pops until empty (a pop between pushes) while the thief steals half once.
WEFT_MODEL_CASE(push_pop_vs_steal_half, "steal_queue/push_pop_vs_steal_half") {
  if (!queue_is_modelled) return not_modelled(name);
  return check<queue_state>(
      name,
      [](queue_state& s) {
        thread thief([&s] { s.steal(); });
        s.push(0);
        s.push(1);
        if (item* it = s.queue.pop()) s.take(it);
        s.push(2);
        while (item* it = s.queue.pop()) s.take(it);
        thief.join();
      },
      each_taken_once);
}

// The owner pushes three and takes them in batches of two while the thief steals half once.
WEFT_MODEL_CASE(push_pop_batch_vs_steal_half, "steal_queue/push_pop_batch_vs_steal_half") {
  if (!queue_is_modelled) return not_modelled(name);
  return check<queue_state>(
      name,
      [](queue_state& s) {
        thread thief([&s] { s.steal(); });
        auto take_batch = [&s] {
          std::array<item*, 2> out{};
          std::uint32_t n = s.queue.pop_batch(out.data(), 2);
          for (std::uint32_t i = 0; i < n; ++i) s.take(out[i]);
          return n;
        };
        s.push(0);
        s.push(1);
        take_batch();
        s.push(2);
        while (take_batch() != 0) {
        }
        thief.join();
      },
      each_taken_once);
}

// Two thieves race each other and the owner's pops for three items pushed up front.
WEFT_MODEL_CASE(two_thieves_vs_pop, "steal_queue/two_thieves_vs_pop") {
  if (!queue_is_modelled) return not_modelled(name);
  return check<queue_state>(
      name,
      [](queue_state& s) {
        s.push(0);
        s.push(1);
        s.push(2);
        thread a([&s] { s.steal(); });
        thread b([&s] { s.steal(); });
        while (item* it = s.queue.pop()) s.take(it);
        a.join();
        b.join();
      },
      each_taken_once);
}

}  // namespace
}  // namespace weft::model
