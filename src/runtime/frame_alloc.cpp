#include "weft/detail/frame_alloc.hpp"
#include "weft/detail/atomic.hpp"

#include <algorithm>
#include <new>

#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
#include "weft/detail/model.hpp"
#endif

namespace weft::detail {

namespace {
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
// The model build counts the blocks that malloc hands out and gets back, so that a model can account
// for every block (frame_cache_census).
std::size_t blocks_from_malloc = 0;
std::size_t blocks_to_malloc = 0;
#endif

// Blocks are always allocated at their full class size, in both modes, so that translation units built
// with and without the cache (a sanitized library, an unsanitized program) can free each other's
// blocks safely.
std::size_t block_size(std::size_t size) noexcept {
  std::size_t c = frame_class_of(size);
  return c < frame_classes ? (c + 1) * frame_granule : size;
}

void* new_block(std::size_t size) {
  void* p = ::operator new(block_size(size));
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
  ++blocks_from_malloc;
#endif
  return p;
}

void delete_block(void* p) noexcept {
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
  ++blocks_to_malloc;
#endif
  ::operator delete(p);
}

// The depot: where full per-thread lists go, whole, for any thread to take. With several workers a
// frame is often allocated on one thread (the spawner) and freed on another (the thief that ran it);
// without the depot the spawner would keep missing its cache and the thief would keep filling its own.
// Lists move in and out whole (one pointer each way), under a per-class lock taken once per
// frame_max_cached frames. Trivially destructible on purpose: threads may free frames during exit.
//
// Bursts: a million tasks that end together free two million blocks. Handing those to malloc one by
// one, in the random order tasks end, made glibc coalesce neighbours on every free (a cache miss or
// two each): 16% of the 1M-sleepers benchmark, and its last wake 145 ms late. So the depot takes
// bursts of up to depot_lists lists per class, and an idle loop returns what is above depot_keep to
// malloc a little at a time (frame_cache_trim), off the critical path.
//
// The lock orders every access to a class's count and lists (cells: the model build checks that), and
// with them the links of the blocks in the lists, written by the thread that freed them.
#if WEFT_FRAME_CACHE  // sanitizer builds bypass the cache, and with it all below
// Per class: up to depot_lists * frame_max_cached blocks parked, depot_keep lists left by trimming. The
// model build's are small, so that a model's few frames fill the depot and trim it.
constexpr unsigned depot_lists = model_build ? 2 : 1024;
constexpr unsigned depot_keep = model_build ? 1 : 16;
weft::detail::atomic<unsigned> depot_over{0};  // lists parked above depot_keep, summed over classes
struct depot_class {
  weft::detail::atomic<bool> locked;
  cell<unsigned> count;
  cell<frame_free_list> lists[depot_lists];

  void lock() noexcept {
    while (locked.exchange(true, std::memory_order_acquire)) thread_yield();
  }
  void unlock() noexcept { locked.store(false, std::memory_order_release); }
};
depot_class depot[frame_classes];

/// Parks list `l` of class `c` in the depot, if it holds fewer than `limit` lists; false if it is full.
bool park_in_depot(std::size_t c, frame_free_list l, unsigned limit) noexcept {
  depot_class& d = depot[c];
  d.lock();
  unsigned n = d.count.get();
  bool parked = n < limit;
  if (parked) {
    if (n >= depot_keep) depot_over.fetch_add(1, std::memory_order_relaxed);
    d.lists[n].set(l);
    d.count.set(n + 1);
  }
  d.unlock();
  return parked;
}

void free_blocks(frame_free_block* head) noexcept {
  while (frame_free_block* b = head) {
    head = b->next;
    delete_block(b);
  }
}

// Set once this thread's lists have been given back at its end: a frame freed later (by another
// thread_local's destructor) goes straight to malloc.
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
struct thread_ended_tag;
bool& thread_ended() noexcept { return per_thread<thread_ended_tag, bool>::get(); }
#else
thread_local bool thread_ended_flag = false;
bool& thread_ended() noexcept { return thread_ended_flag; }
#endif

void release_at_exit() noexcept {
  frame_cache_release_thread();
  thread_ended() = true;
}

/// Arranges, once per thread, that the thread's lists go back when it ends: a worker's, a blocking-pool
/// thread's, or any thread's that spawns onto a runtime or drops a join handle. Called by the slow
/// paths before a list takes its first blocks.
void watch_thread_exit() noexcept {
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
  struct watched_tag;
  bool& watched = per_thread<watched_tag, bool>::get();
  if (!watched) model::hook::at_thread_exit(release_at_exit);
  watched = true;
#else
  // A thread_local's destructor runs when its thread ends; this one is constructed on the first call.
  struct releaser {
    ~releaser() { release_at_exit(); }
  };
  thread_local releaser watch;
  (void)watch;
#endif
}
#endif
}  // namespace

#if !(defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK)
thread_local frame_thread_lists frame_lists;
#endif

void* frame_alloc_slow(std::size_t size) {
#if WEFT_FRAME_CACHE
  std::size_t c = frame_class_of(size);
  if (c < frame_classes && !thread_ended()) {
    // This thread's list is empty: take the depot's newest list, if there is one.
    watch_thread_exit();
    depot_class& d = depot[c];
    frame_thread_list& l = this_thread_frame_lists()[c];
    d.lock();
    if (unsigned n = d.count.get(); n > 0) {
      if (n > depot_keep) depot_over.fetch_sub(1, std::memory_order_relaxed);
      frame_free_list parked = d.lists[n - 1].get();
      d.count.set(n - 1);
      l = {parked.head, frame_max_cached - parked.count};
    }
    d.unlock();
    if (frame_free_block* b = l.head) {
      l.head = b->next;
      ++l.room;
      return b;
    }
  }
#endif
  return new_block(size);
}

void frame_free_slow(void* p, std::size_t size) noexcept {
#if WEFT_FRAME_CACHE
  std::size_t c = frame_class_of(size);
  if (c < frame_classes && !thread_ended()) {
    // The list is not started yet (no blocks, no room), or full: then it goes whole to the depot,
    // unless the depot is full too. Either way a new list starts with `p`.
    frame_thread_list& l = this_thread_frame_lists()[c];
    if (l.head == nullptr) {
      watch_thread_exit();
    } else if (!park_in_depot(c, {l.head, frame_max_cached}, depot_lists)) {
      delete_block(p);
      return;
    }
    auto* b = static_cast<frame_free_block*>(p);
    b->next = nullptr;
    l = {b, frame_max_cached - 1};
    return;
  }
#else
  (void)size;
#endif
  delete_block(p);
}

bool frame_cache_trim(std::size_t budget) noexcept {
#if WEFT_FRAME_CACHE
  if (depot_over.load(std::memory_order_relaxed) == 0) return false;
  for (std::size_t c = 0; c < frame_classes && budget > 0; ++c) {
    depot_class& d = depot[c];
    while (budget > 0) {
      d.lock();
      unsigned n = d.count.get();
      if (n <= depot_keep) {
        d.unlock();
        break;
      }
      frame_free_list l = d.lists[n - 1].get();
      d.count.set(n - 1);
      depot_over.fetch_sub(1, std::memory_order_relaxed);
      d.unlock();
      budget -= std::min(budget, l.count);
      free_blocks(l.head);
    }
  }
  return depot_over.load(std::memory_order_relaxed) != 0;
#else
  (void)budget;
  return false;
#endif
}

void frame_cache_release_thread() noexcept {
#if WEFT_FRAME_CACHE
  // Into the depot while it keeps no more than trimming would leave (other threads take them from
  // there; nothing trims once no loop runs), the rest back to malloc.
  frame_thread_lists& lists = this_thread_frame_lists();
  for (std::size_t c = 0; c < frame_classes; ++c) {
    frame_thread_list& l = lists[c];
    if (l.head == nullptr) continue;
    if (!park_in_depot(c, {l.head, frame_max_cached - l.room}, depot_keep)) free_blocks(l.head);
    l = {};
  }
#endif
}

#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
void frame_cache_clear() noexcept {
  for (depot_class& d : depot) {
    d.locked.store(false);  // a run cut short may have left it held
    for (unsigned n = d.count.get(); n > 0; --n) free_blocks(d.lists[n - 1].get().head);
    d.count.set(0);
  }
  depot_over.store(0);
  blocks_from_malloc = 0;
  blocks_to_malloc = 0;
}

frame_cache_census frame_cache_take_census() noexcept {
  frame_cache_census census{};
  census.from_malloc = blocks_from_malloc;
  census.to_malloc = blocks_to_malloc;
  census.depot_over = depot_over.load();
  census.lengths_match = true;
  for (const depot_class& d : depot) {
    unsigned n = d.count.get();
    if (n > depot_keep) census.lists_above_keep += n - depot_keep;
    for (unsigned i = 0; i < n; ++i) {
      frame_free_list l = d.lists[i].get();
      std::size_t length = 0;
      for (frame_free_block* b = l.head; b != nullptr; b = b->next) ++length;
      census.parked += length;
      census.lengths_match = census.lengths_match && length == l.count;
    }
  }
  return census;
}
#endif

}  // namespace weft::detail
