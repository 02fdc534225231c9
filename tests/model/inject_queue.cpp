// A replica of the scheduler's injection queue: scheduler::inject_batch and take_injected
// (src/runtime/scheduler.cpp), with its spin lock and `injected_count_`, and a worker's fresh queue of
// small capacity, so that a chunk that does not fit goes back to the front.
//
// The protocol: injected tasks wait in chunks (linked through `live_next`), under the spin lock;
// inject_batch links the chunk, then under the lock appends it and adds its size to `injected_count_`.
// take_injected returns at once if the count is 0, else pops the front chunk under the lock, walks it
// into the worker's fresh queue outside the lock, puts back as one chunk at the front what did not fit,
// and only then subtracts what it moved from the count: "live_tasks() may count a task twice for a
// moment, never zero times".
//
// Properties:
// - Every injected task is taken exactly once, with what its injector wrote (its fields are cells: a
//   task handed over without the lock's happens-before is a data race).
// - Never counted zero times: at every moment, `injected_count_` plus the fresh queue's size (what
//   live_tasks() adds up) is at least the number of tasks queued, being moved, or in the fresh queue.
//   Checked after every change of any of them, so in every state the search reaches; it implies that
//   the count is never 0 while a chunk is queued (the last look of a worker going to sleep relies on
//   it, worker_sleep.cpp). A chunk counts as queued once inject_batch has added its size (inside the
//   lock): before that it is still the injector's, and the injector's notify_one follows.
// - At the end the count is 0 and the queue is empty.
//
// The replica: tasks are items of a fixed array; the fresh queue is the taker's own (a capacity of 1, no
// thieves: steal_queue.cpp checks the real one); notify_one is left out (worker_sleep.cpp checks the wake-
// ups). Thread 0 is the taker, which runs what it took and tries again until it has run every item;
// threads 1 and 2 inject a chunk of two each (so every take of a chunk puts one back).
//
// Defects the checker must find:
// - count_dropped_at_pop: the count drops when the chunk leaves the queue, before its tasks sit in the
//   fresh queue (those are counted zero times meanwhile).
// - rest_not_subtracted: the tasks put back are subtracted with the rest (`moved -= rest` forgotten):
//   the count says fewer than are queued, and 0 while one is.
#include <array>
#include <cstddef>
#include <deque>
#include <mutex>

#include "replica.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

enum class variant { fixed, count_dropped_at_pop, rest_not_subtracted };

constexpr int total_items = 4;
constexpr int fresh_capacity = 1;

struct item {
  cell<int> payload;
  cell<int> taken;
  cell<item*> next;  // live_next
};

struct chunk {
  item* head;
  std::size_t count;
};

template <variant V>
struct injection {
  std::array<item, total_items> items;
  replica::spin_lock lock;
  cell<std::deque<chunk>> chunks;  // guarded by lock
  atomic<std::size_t> count{0};    // injected_count_
  std::array<item*, fresh_capacity> fresh{};  // the taker's fresh queue (its own)
  int fresh_size = 0;

  // Where the items are (plain: updated next to the operation that moves them, checked at once).
  int queued = 0, moving = 0, run = 0;
  std::size_t count_now = 0;  // the count's value, mirrored after each change

  void check_counted() {
    auto counted = static_cast<long long>(count_now);  // a count that wrapped below 0 is negative here
    require(counted + fresh_size >= queued + moving + fresh_size,
            "live_tasks() never counts a task zero times (injected_count_ + fresh >= queued + moving + fresh)");
    require(counted != 0 || queued == 0, "injected_count_ is never 0 while a chunk is queued");
  }
  void count_add(std::size_t n) {
    count_now = count.fetch_add(n, std::memory_order_seq_cst) + n;
  }
  void count_sub(std::size_t n) {
    count_now = count.fetch_sub(n, std::memory_order_seq_cst) - n;
  }

  void inject_batch(int first, int n) {
    item* batch = &items[static_cast<std::size_t>(first)];
    for (int i = 0; i < n; ++i) {
      batch[i].payload.set(first + i + 1);
      batch[i].next.set(i + 1 < n ? &batch[i + 1] : nullptr);
    }
    std::lock_guard guard(lock);
    chunks.with_mut([&](std::deque<chunk>& q) { q.push_back({batch, static_cast<std::size_t>(n)}); });
    count_add(static_cast<std::size_t>(n));
    queued += n;
    check_counted();
  }

  bool take_injected() {
    if (count.load(std::memory_order_relaxed) == 0) return false;
    chunk c{nullptr, 0};
    {
      std::lock_guard guard(lock);
      if (chunks.with([](const std::deque<chunk>& q) { return q.empty(); })) return false;
      chunks.with_mut([&c](std::deque<chunk>& q) {
        c = q.front();
        q.pop_front();
      });
      queued -= static_cast<int>(c.count);
      moving += static_cast<int>(c.count);
      if constexpr (V == variant::count_dropped_at_pop) count_sub(c.count);
      check_counted();
    }
    std::size_t moved = c.count;
    while (item* s = c.head) {
      item* next = s->next.get();
      s->next.set(nullptr);
      if (fresh_size == fresh_capacity) {
        s->next.set(next);
        std::size_t rest = 0;
        for (item* r = s; r != nullptr; r = r->next.get()) ++rest;
        std::lock_guard guard(lock);
        chunks.with_mut([&](std::deque<chunk>& q) { q.push_front({s, rest}); });
        if constexpr (V != variant::rest_not_subtracted) moved -= rest;
        queued += static_cast<int>(rest);
        moving -= static_cast<int>(rest);
        check_counted();
        break;
      }
      fresh[static_cast<std::size_t>(fresh_size++)] = s;
      --moving;
      check_counted();
      c.head = next;
    }
    if constexpr (V != variant::count_dropped_at_pop) {
      count_sub(moved);
      check_counted();
    }
    return true;
  }

  void run_fresh() {
    while (fresh_size > 0) {
      item* it = fresh[static_cast<std::size_t>(--fresh_size)];
      require(it->payload.get() == static_cast<int>(it - &items[0]) + 1, "a taken task has what its injector wrote");
      it->taken.with_mut([](int& n) { ++n; });
      ++run;
    }
  }
};

template <variant V>
void taken_once(injection<V>& q) {
  for (item& it : q.items) require(it.taken.get() == 1, "every injected task is taken exactly once");
  require(q.count.load() == 0 && q.chunks.with([](const std::deque<chunk>& c) { return c.empty(); }),
          "the count is 0 and the queue empty at the end");
}

template <variant V>
report inject_model(std::string_view name, options opts) {
  using state = injection<V>;
  return check<state>(
      name,
      [](state& q) {
        thread a([&q] { q.inject_batch(0, 2); });
        thread b([&q] { q.inject_batch(2, 2); });
        while (q.run < total_items) {
          if (!q.take_injected()) weft::detail::cpu_relax();
          q.run_fresh();
        }
        a.join();
        b.join();
      },
      taken_once<V>, std::move(opts));
}

WEFT_MODEL_CASE(fixed, "replica/inject_queue/two_injectors_one_taker") { return inject_model<variant::fixed>(name, {}); }

// The same with the plain accesses (the chunk's links, walked outside the lock) interleaved as well.
WEFT_MODEL_CASE(fixed_cell_steps, "replica/inject_queue/two_injectors_one_taker_cell_steps") {
  options opts;
  opts.cell_steps = true;
  return inject_model<variant::fixed>(name, opts);
}

WEFT_MODEL_CASE(dropped_at_pop, "replica/inject_queue/count_dropped_at_pop_is_found") {
  auto run = [&](options opts) { return inject_model<variant::count_dropped_at_pop>(name, std::move(opts)); };
  return expect_failure(run({}), "zero times", run);
}

WEFT_MODEL_CASE(rest_not_subtracted, "replica/inject_queue/rest_not_subtracted_is_found") {
  auto run = [&](options opts) { return inject_model<variant::rest_not_subtracted>(name, std::move(opts)); };
  return expect_failure(run({}), "zero times", run);
}

}  // namespace
}  // namespace weft::model
