// A replica of the frame cache (weft/detail/frame_alloc.hpp, src/runtime/frame_alloc.cpp): frame_alloc
// and frame_free with their slow paths, the per-class depot under its spin lock, `depot_over`, and
// frame_cache_trim, over blocks that one thread allocates and others free. A teaching copy, which
// spells the protocol out and shows each defect found: the code that ships is checked by
// runtime_frame_cache.cpp.
//
// The protocol: each thread keeps a free list per size class (its own: a thread_local that no other
// thread touches). A free pushes the block onto the list; a free that finds the list full takes the
// depot's lock and parks the whole list there (unless the depot is full: the block goes to malloc), then
// starts a new list with the block. An allocation pops the list; one that finds it empty takes the
// depot's lock and takes the depot's newest list as its own, else goes to malloc. `depot_over` counts
// the lists parked above depot_keep, changed under the lock by whoever moves such a list; trimming (an
// idle loop) returns to malloc, one list at a time, what is above depot_keep. The lock is the only
// thing that hands a list, and the blocks' links written by the thread that freed them, to another
// thread.
//
// Properties:
// - No block is handed out twice: an allocation gets a block that no thread holds and that malloc has
//   not had back; a block's contents (a cell, written by each owner) pass from one owner to the next
//   ordered by happens-before, as is its link (a cell).
// - None is lost: at the end every block that malloc handed out is in exactly one place: held by a
//   thread, in a thread's list, in the depot, or back in malloc (once); each list's count is its length.
// - `depot_over` never drops below 0 (unsigned: it would wrap), and at the end it is the number of the
//   depot's lists above depot_keep.
// - The depot's count and lists are cells: the lock must order every access (a data race otherwise).
//
// The replica: one size class (depot_over sums over the classes; one is enough for its bookkeeping),
// lists of max_cached = 2 (frame_max_cached), a depot of depot_lists = 2 lists that keeps 1
// (depot_lists, depot_keep); malloc is an array handed out in order and never reused. The depot lock is
// depot_class::lock's shape (exchange, yield), not sync's spin_lock. Thread 0 allocates ten blocks, gives
// four to thread 1 and six to thread 2 (a frame allocated on one thread and freed on another), then
// trims while they run. Thread 1 frees its four (parking one list) and allocates three (the third from
// the depot, or malloc); thread 2 frees its six (parking two lists, or finding the depot full) and
// allocates three too. Every branch is reached: the depot full, trim taking a list, a thread taking
// another's list, malloc after an empty depot. Left out: the size arithmetic, several classes, the
// blocks a thread's lists strand when it exits.
//
// Defects the checker must find:
// - pop_outside_lock: the allocation's slow path takes a list from the depot without the lock (a race;
//   past it, a push between its read of the count and its write is overwritten and lists are lost).
// - relaxed_unlock: the depot lock's unlock is a relaxed store, which releases nothing to the next holder.
// - trim_claims_before_lock: trim lowers depot_over for the list it is about to take before it holds
//   the lock; an allocation may take that list first (and lowers it too), so trim has lowered it for a
//   list it did not take.
#include <algorithm>
#include <array>
#include <cstddef>

#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

constexpr std::size_t max_cached = 2;  // frame_max_cached
constexpr unsigned depot_lists = 2;
constexpr unsigned depot_keep = 1;
constexpr int threads = 3;
constexpr int pool_blocks = 14;  // what malloc can hand out in one run

enum class variant { fixed, pop_outside_lock, relaxed_unlock, trim_claims_before_lock };

struct block {
  cell<block*> next;  // frame_free_block::next: written by the thread that frees it
  cell<int> frame;    // the frame's contents: written by each owner
  int owner = -1;     // bookkeeping (plain: one model thread runs at a time)
  int returned = 0;   // times given back to malloc
};

struct free_list {  // frame_free_list
  block* head = nullptr;
  std::size_t count = 0;
};

template <variant V>
struct depot_class {
  atomic<bool> locked{false};
  cell<unsigned> count{0u};
  std::array<cell<free_list>, depot_lists> lists;

  void lock() {
    while (locked.exchange(true, acquire)) weft::detail::thread_yield();
  }
  void unlock() { locked.store(false, V == variant::relaxed_unlock ? relaxed : release); }
};

template <variant V>
struct frame_cache {
  std::array<block, pool_blocks> pool;
  int malloced = 0;
  depot_class<V> depot;
  atomic<unsigned> depot_over{0};
  std::array<free_list, threads> lists;  // frame_lists: each thread's own

  block* malloc_block() {
    require(malloced < pool_blocks, "the model's malloc has blocks left");
    return &pool[static_cast<std::size_t>(malloced++)];
  }
  void free_to_malloc(block* b) {
    require(b->owner == -1, "a block given back to malloc is held by no thread");
    require(b->returned == 0, "a block is given back to malloc once");
    ++b->returned;
  }
  void over_add() {
    unsigned now = depot_over.fetch_add(1, relaxed) + 1;
    require(now <= depot_lists, "depot_over never exceeds the depot's lists");
  }
  void over_sub() {
    unsigned now = depot_over.fetch_sub(1, relaxed) - 1;
    require(now <= depot_lists, "depot_over never drops below 0 (it would wrap)");
  }

  static block* pop(free_list& l) {
    block* b = l.head;
    if (b != nullptr) {
      l.head = b->next.get();
      --l.count;
    }
    return b;
  }

  // Under the lock (but for pop_outside_lock): the depot's newest list becomes thread t's.
  void take_from_depot(int t) {
    unsigned n = depot.count.get();
    if (n > 0) {
      if (n > depot_keep) over_sub();
      depot.count.set(n - 1);
      lists[static_cast<std::size_t>(t)] = depot.lists[n - 1].get();
    }
  }

  block* alloc_slow(int t) {
    if constexpr (V == variant::pop_outside_lock) {
      take_from_depot(t);
    } else {
      depot.lock();
      take_from_depot(t);
      depot.unlock();
    }
    if (block* b = pop(lists[static_cast<std::size_t>(t)])) return b;
    return malloc_block();
  }

  block* alloc(int t) {
    block* b = pop(lists[static_cast<std::size_t>(t)]);
    if (b == nullptr) b = alloc_slow(t);
    require(b->owner == -1 && b->returned == 0,
            "no block is handed out twice (held by one thread at most, never once malloc has it back)");
    b->owner = t;
    b->frame.set(t);
    return b;
  }

  void free(int t, block* b) {
    require(b->owner == t, "a block is freed by the thread that holds it");
    b->frame.set(-1);  // the frame's last use, by its owner
    b->owner = -1;
    free_list& l = lists[static_cast<std::size_t>(t)];
    if (l.count < max_cached) {
      b->next.set(l.head);
      l.head = b;
      ++l.count;
      return;
    }
    depot.lock();
    unsigned n = depot.count.get();
    bool parked = n < depot_lists;
    if (parked) {
      if (n >= depot_keep) over_add();
      depot.lists[n].set(l);
      depot.count.set(n + 1);
    }
    depot.unlock();
    if (parked) {
      b->next.set(nullptr);
      l = {b, 1};
      return;
    }
    free_to_malloc(b);
  }

  bool trim(std::size_t budget) {
    if (depot_over.load(relaxed) == 0) return false;
    while (budget > 0) {
      if constexpr (V == variant::trim_claims_before_lock) {
        if (depot_over.load(relaxed) == 0) break;
        over_sub();  // the defect: for a list it does not hold yet
      }
      depot.lock();
      unsigned n = depot.count.get();
      if (n <= depot_keep) {
        depot.unlock();
        break;
      }
      free_list l = depot.lists[n - 1].get();
      depot.count.set(n - 1);
      if constexpr (V != variant::trim_claims_before_lock) over_sub();
      depot.unlock();
      budget -= std::min(budget, l.count);
      while (block* b = l.head) {
        l.head = b->next.get();
        free_to_malloc(b);
      }
    }
    return depot_over.load(relaxed) != 0;
  }
};

template <variant V>
void accounted(frame_cache<V>& c) {
  std::array<int, pool_blocks> listed{};
  auto walk = [&](const free_list& l) {
    std::size_t length = 0;
    for (block* b = l.head; b != nullptr && length <= pool_blocks; b = b->next.get(), ++length) {
      ++listed[static_cast<std::size_t>(b - &c.pool[0])];
    }
    require(length == l.count, "a list's count is its length");
  };
  for (const free_list& l : c.lists) walk(l);
  unsigned parked = c.depot.count.get();
  for (unsigned i = 0; i < parked; ++i) walk(c.depot.lists[i].get());
  for (int i = 0; i < c.malloced; ++i) {
    const block& b = c.pool[static_cast<std::size_t>(i)];
    int places = listed[static_cast<std::size_t>(i)] + (b.owner >= 0 ? 1 : 0) + b.returned;
    require(places == 1,
            "every block is in exactly one place: held, in a thread's list, in the depot, or back in malloc");
  }
  unsigned above = parked > depot_keep ? parked - depot_keep : 0;
  require(c.depot_over.load() == above, "at rest, depot_over is the number of the depot's lists above depot_keep");
}

template <variant V>
report cache_model(std::string_view name, options opts) {
  using state = frame_cache<V>;
  return check<state>(
      name,
      [](state& c) {
        std::array<block*, 10> blocks{};
        for (block*& b : blocks) b = c.alloc(0);
        for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i]->owner = i < 4 ? 1 : 2;  // handed over
        thread first([&c, &blocks] {
          for (std::size_t i = 0; i < 4; ++i) c.free(1, blocks[i]);
          for (int i = 0; i < 3; ++i) c.alloc(1);
        });
        thread second([&c, &blocks] {
          for (std::size_t i = 4; i < blocks.size(); ++i) c.free(2, blocks[i]);
          for (int i = 0; i < 3; ++i) c.alloc(2);
        });
        c.trim(64);
        first.join();
        second.join();
      },
      accounted<V>, std::move(opts));
}

WEFT_MODEL_CASE(fixed, "replica/frame_cache/cross_thread_free_with_trim") {
  return cache_model<variant::fixed>(name, {});
}

// The same with the plain accesses (the lists walked outside the lock) interleaved as well.
WEFT_MODEL_CASE(fixed_cell_steps, "replica/frame_cache/cross_thread_free_with_trim_cell_steps") {
  options opts;
  opts.cell_steps = true;
  return cache_model<variant::fixed>(name, opts);
}

WEFT_MODEL_CASE(pop_outside_lock_races, "replica/frame_cache/pop_outside_lock_races") {
  auto run = [&](options opts) { return cache_model<variant::pop_outside_lock>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

// Past the race, with the plain accesses interleaved: a push between the unlocked pop's read of the
// count and its write is overwritten, and the lists it parked are lost.
WEFT_MODEL_CASE(pop_outside_lock_loses_lists, "replica/frame_cache/pop_outside_lock_loses_lists") {
  auto run = [&](options opts) {
    opts.detect_races = false;
    opts.cell_steps = true;
    return cache_model<variant::pop_outside_lock>(name, std::move(opts));
  };
  return expect_failure(run({}), "exactly one place", run);
}

WEFT_MODEL_CASE(relaxed_unlock_races, "replica/frame_cache/relaxed_unlock_races") {
  auto run = [&](options opts) { return cache_model<variant::relaxed_unlock>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

WEFT_MODEL_CASE(trim_claims_before_lock, "replica/frame_cache/trim_claims_before_lock_is_found") {
  auto run = [&](options opts) { return cache_model<variant::trim_claims_before_lock>(name, std::move(opts)); };
  return expect_failure(run({}), "depot_over", run);
}

}  // namespace
}  // namespace weft::model
