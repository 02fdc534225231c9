#include "weft/detail/frame_alloc.hpp"

#include <new>

// Sanitizer builds bypass the cache, so that use-after-free of a frame is still caught.
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

#if WEFT_FRAME_CACHE

namespace {

// 16-byte classes: a million sleeping tasks are two blocks each, so rounding waste is RSS.
constexpr std::size_t granule = 16;
constexpr std::size_t classes = 256;      // sizes up to 4 KiB are cached (an HTTP request's frame is ~2 KiB)
constexpr std::size_t max_cached = 4096;  // per class; bounds what a burst leaves behind

struct free_block {
  free_block* next;
};

struct free_list {
  free_block* head;
  std::size_t count;
};

// Trivially constructible, so thread_local access needs no guard.
thread_local free_list lists[classes];

std::size_t class_of(std::size_t size) noexcept { return (size + granule - 1) / granule - 1; }

}  // namespace

void* frame_alloc(std::size_t size) {
  std::size_t c = class_of(size);
  if (c >= classes) return ::operator new(size);
  free_list& l = lists[c];
  if (free_block* b = l.head) {
    l.head = b->next;
    --l.count;
    return b;
  }
  return ::operator new((c + 1) * granule);
}

void frame_free(void* p, std::size_t size) noexcept {
  std::size_t c = class_of(size);
  if (c < classes && lists[c].count < max_cached) {
    auto* b = static_cast<free_block*>(p);
    b->next = lists[c].head;
    lists[c].head = b;
    ++lists[c].count;
    return;
  }
  ::operator delete(p);
}

#else

void* frame_alloc(std::size_t size) { return ::operator new(size); }
void frame_free(void* p, std::size_t) noexcept { ::operator delete(p); }

#endif

}  // namespace weft::detail
