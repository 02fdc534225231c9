// Recycling allocator for coroutine frames and spawn states.
//
// Each thread keeps free lists by 16-byte size class (up to 4 KiB); a block freed on one thread goes to
// that thread's lists, and a full list moves whole to a shared depot where any thread can take it (see
// frame_alloc.cpp). Spawn, wake and complete therefore never reach malloc in steady state, also when
// tasks are spawned on one worker and run on another. A thread's lists go back to the depot when the
// thread ends, whichever thread it is. Sanitizer builds bypass the cache so that use-after-free of a
// frame is still caught.
#pragma once

#include <array>
#include <cstddef>

#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
#include "weft/detail/atomic.hpp"
#endif

// The model build keeps the cache (tests/model/runtime_frame_cache.cpp checks it), with small lists and
// depot so that a model's few frames reach every path, and one set of lists per model thread.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_FRAME_CACHE 0
#endif
#endif
#ifndef WEFT_FRAME_CACHE
#define WEFT_FRAME_CACHE 1
#endif

namespace weft::detail {

/// The slow paths: a miss in the cache, a list that is full or not yet started, or a block the cache
/// does not keep.
void* frame_alloc_slow(std::size_t size);
void frame_free_slow(void* p, std::size_t size) noexcept;
/// Returns up to about `budget` parked blocks to malloc, from what a burst left above the cache's
/// resting size; true if more is left. Idle loops call it (worker::poll).
bool frame_cache_trim(std::size_t budget) noexcept;
/// Gives this thread's cached blocks back (to the depot, or to malloc). Every thread that used the
/// cache does so when it ends (the first slow path it takes arranges that); a thread that lives on
/// but is done with frames for a while (a blocking-pool thread after its job) may call it earlier.
void frame_cache_release_thread() noexcept;

#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
/// The model build's: empties the depot back to malloc and zeroes the counts below, so that each run of
/// a model starts from an empty cache (call it where no thread uses the cache: a model's setup).
void frame_cache_clear() noexcept;
/// What the cache holds and has had from malloc, for a model to account for every block.
struct frame_cache_census {
  std::size_t from_malloc;    // blocks malloc handed out since frame_cache_clear
  std::size_t to_malloc;      // and got back
  std::size_t parked;         // blocks in the depot's lists
  bool lengths_match;         // each parked list's count is its length
  unsigned depot_over;        // the counter
  unsigned lists_above_keep;  // what it should count
};
frame_cache_census frame_cache_take_census() noexcept;
#endif

struct frame_free_block {
  frame_free_block* next;
};
/// A list in the depot: `count` blocks.
struct frame_free_list {
  frame_free_block* head;
  std::size_t count;
};
/// A thread's list: it takes `room` more blocks before it is full and goes to the depot. Zero-initialised
/// (no blocks, no room) until the thread's first free of its class, which therefore takes the slow path,
/// where the thread is watched for its end.
struct frame_thread_list {
  frame_free_block* head;
  std::size_t room;
};
inline constexpr std::size_t frame_granule = 16;
inline constexpr std::size_t frame_classes = 256;  // sizes up to 4 KiB are cached (an HTTP request's frame is ~2 KiB)
using frame_thread_lists = std::array<frame_thread_list, frame_classes>;
/// The size class of a block of `size` bytes: 0 for 1..16 bytes, 1 for 17..32, ...; frame_classes and
/// above are not cached.
inline constexpr std::size_t frame_class_of(std::size_t size) noexcept {
  return (size + frame_granule - 1) / frame_granule - 1;
}
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
inline constexpr std::size_t frame_max_cached = 4;
struct frame_lists_tag;
/// This thread's lists: one set per model thread (they are fibers on one OS thread).
inline frame_thread_lists& this_thread_frame_lists() noexcept {
  return per_thread<frame_lists_tag, frame_thread_lists>::get();
}
#else
inline constexpr std::size_t frame_max_cached = 2048;  // per class and thread; then the list goes to the depot
// Trivially constructible and destructible, so thread_local access needs no guard.
extern thread_local frame_thread_lists frame_lists;
inline frame_thread_lists& this_thread_frame_lists() noexcept { return frame_lists; }
#endif

#if WEFT_FRAME_CACHE
/// Inline fast paths: a spawn, a wake and a completion touch only these.
inline void* frame_alloc(std::size_t size) {
  std::size_t c = frame_class_of(size);
  if (c < frame_classes) {
    frame_thread_list& l = this_thread_frame_lists()[c];
    if (frame_free_block* b = l.head) {
      l.head = b->next;
      ++l.room;
      return b;
    }
  }
  return frame_alloc_slow(size);
}
inline void frame_free(void* p, std::size_t size) noexcept {
  std::size_t c = frame_class_of(size);
  if (c < frame_classes) {
    frame_thread_list& l = this_thread_frame_lists()[c];
    if (l.room != 0) {
      auto* b = static_cast<frame_free_block*>(p);
      b->next = l.head;
      l.head = b;
      --l.room;
      return;
    }
  }
  frame_free_slow(p, size);
}
#else
inline void* frame_alloc(std::size_t size) { return frame_alloc_slow(size); }
inline void frame_free(void* p, std::size_t size) noexcept { frame_free_slow(p, size); }
#endif

/// Mixin that routes a type's (or a coroutine promise's frame's) allocation through `frame_alloc`.
struct frame_allocated {
  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }
};

}  // namespace weft::detail
