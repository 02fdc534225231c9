#include "weft/detail/frame_alloc.hpp"
#include "weft/detail/atomic.hpp"

#include <algorithm>
#include <atomic>
#include <new>
#include <thread>

namespace weft::detail {

namespace {
// Blocks are always allocated at their full class size, in both modes, so that translation units built
// with and without the cache (a sanitized library, an unsanitized program) can free each other's
// blocks safely.
std::size_t block_size(std::size_t size) noexcept {
  std::size_t c = (size + frame_granule - 1) / frame_granule - 1;
  return c < frame_classes ? (c + 1) * frame_granule : size;
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
#if WEFT_FRAME_CACHE  // sanitizer builds bypass the cache, and with it all below
constexpr unsigned depot_lists = 1024;  // per class: up to 1024 * frame_max_cached blocks parked
constexpr unsigned depot_keep = 16;     // per class: what trimming leaves
weft::detail::atomic<unsigned> depot_over{0};    // lists parked above depot_keep, summed over classes
struct depot_class {
  weft::detail::atomic<bool> locked;
  unsigned count;
  frame_free_list lists[depot_lists];

  void lock() noexcept {
    while (locked.exchange(true, std::memory_order_acquire)) thread_yield();
  }
  void unlock() noexcept { locked.store(false, std::memory_order_release); }
};
depot_class depot[frame_classes];

std::size_t class_of(std::size_t size) noexcept { return (size + frame_granule - 1) / frame_granule - 1; }

/// Parks list `l` of class `c` in the depot, if it holds fewer than `limit` lists; false if it is full.
bool park_in_depot(std::size_t c, frame_free_list l, unsigned limit) noexcept {
  depot_class& d = depot[c];
  d.lock();
  bool parked = d.count < limit;
  if (parked) {
    if (d.count >= depot_keep) depot_over.fetch_add(1, std::memory_order_relaxed);
    d.lists[d.count++] = l;
  }
  d.unlock();
  return parked;
}

void free_blocks(frame_free_list l) noexcept {
  while (frame_free_block* b = l.head) {
    l.head = b->next;
    ::operator delete(b);
  }
}
#endif
}  // namespace

thread_local frame_free_list frame_lists[frame_classes];

void* frame_alloc_slow(std::size_t size) {
#if WEFT_FRAME_CACHE
  std::size_t c = class_of(size);
  if (c < frame_classes) {
    depot_class& d = depot[c];
    d.lock();
    if (d.count > 0) {
      if (d.count > depot_keep) depot_over.fetch_sub(1, std::memory_order_relaxed);
      frame_lists[c] = d.lists[--d.count];
    }
    d.unlock();
    frame_free_list& l = frame_lists[c];
    if (frame_free_block* b = l.head) {
      l.head = b->next;
      --l.count;
      return b;
    }
  }
#endif
  return ::operator new(block_size(size));
}

void frame_free_slow(void* p, std::size_t size) noexcept {
#if WEFT_FRAME_CACHE
  std::size_t c = class_of(size);
  if (c < frame_classes) {
    // This thread's list is full: park it whole in the depot and start a new one with `p`.
    if (park_in_depot(c, frame_lists[c], depot_lists)) {
      auto* b = static_cast<frame_free_block*>(p);
      b->next = nullptr;
      frame_lists[c] = {b, 1};
      return;
    }
  }
#else
  (void)size;
#endif
  ::operator delete(p);
}

bool frame_cache_trim(std::size_t budget) noexcept {
#if WEFT_FRAME_CACHE
  if (depot_over.load(std::memory_order_relaxed) == 0) return false;
  for (std::size_t c = 0; c < frame_classes && budget > 0; ++c) {
    depot_class& d = depot[c];
    while (budget > 0) {
      d.lock();
      if (d.count <= depot_keep) {
        d.unlock();
        break;
      }
      frame_free_list l = d.lists[--d.count];
      depot_over.fetch_sub(1, std::memory_order_relaxed);
      d.unlock();
      budget -= std::min(budget, l.count);
      free_blocks(l);
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
  for (std::size_t c = 0; c < frame_classes; ++c) {
    frame_free_list& l = frame_lists[c];
    if (l.count == 0) continue;
    if (!park_in_depot(c, l, depot_keep)) free_blocks(l);
    l = {};
  }
#endif
}

}  // namespace weft::detail
