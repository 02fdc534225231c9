// Recycling allocator for coroutine frames and spawn states.
//
// Each thread keeps free lists by 16-byte size class (up to 4 KiB); a block freed on one thread goes to
// that thread's lists, and a full list moves whole to a shared depot where any thread can take it (see
// frame_alloc.cpp). Spawn, wake and complete therefore never reach malloc in steady state, also when
// tasks are spawned on one worker and run on another. Sanitizer builds bypass the cache so that
// use-after-free of a frame is still caught.
#pragma once

#include <cstddef>

// Sanitizer builds bypass the cache, so that use-after-free of a frame is still caught. So does the model
// build: its threads are fibers on one OS thread, which would share one thread's lists (the cache's
// shared part, the depot, has a model of its own: tests/model/frame_cache.cpp).
#if defined(WEFT_MODEL_CHECK) && WEFT_MODEL_CHECK
#define WEFT_FRAME_CACHE 0
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
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

/// The slow paths: a miss in the cache, or a block the cache does not keep.
void* frame_alloc_slow(std::size_t size);
void frame_free_slow(void* p, std::size_t size) noexcept;
/// Returns up to about `budget` parked blocks to malloc, from what a burst left above the cache's
/// resting size; true if more is left. Idle loops call it (worker::poll).
bool frame_cache_trim(std::size_t budget) noexcept;
/// Gives this thread's cached blocks back (to the depot, or to malloc) before the thread ends: a
/// worker thread's lists would otherwise die with it, and every runtime would leak its workers' share.
void frame_cache_release_thread() noexcept;

struct frame_free_block {
  frame_free_block* next;
};
struct frame_free_list {
  frame_free_block* head;
  std::size_t count;
};
inline constexpr std::size_t frame_granule = 16;
inline constexpr std::size_t frame_classes = 256;       // sizes up to 4 KiB are cached (an HTTP request's frame is ~2 KiB)
inline constexpr std::size_t frame_max_cached = 2048;   // per class and thread; then the list goes to the depot
// Trivially constructible, so thread_local access needs no guard.
extern thread_local frame_free_list frame_lists[frame_classes];

#if WEFT_FRAME_CACHE
/// Inline fast paths: a spawn, a wake and a completion touch only these.
inline void* frame_alloc(std::size_t size) {
  std::size_t c = (size + frame_granule - 1) / frame_granule - 1;
  if (c < frame_classes) {
    frame_free_list& l = frame_lists[c];
    if (frame_free_block* b = l.head) {
      l.head = b->next;
      --l.count;
      return b;
    }
  }
  return frame_alloc_slow(size);
}
inline void frame_free(void* p, std::size_t size) noexcept {
  std::size_t c = (size + frame_granule - 1) / frame_granule - 1;
  if (c < frame_classes && frame_lists[c].count < frame_max_cached) {
    auto* b = static_cast<frame_free_block*>(p);
    b->next = frame_lists[c].head;
    frame_lists[c].head = b;
    ++frame_lists[c].count;
    return;
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
