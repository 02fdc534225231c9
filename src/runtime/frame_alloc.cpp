#include "weft/detail/frame_alloc.hpp"

#include <new>

namespace weft::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool cache_enabled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool cache_enabled = false;
#else
constexpr bool cache_enabled = true;
#endif
#else
constexpr bool cache_enabled = true;
#endif

constexpr std::size_t granule = 64;
constexpr std::size_t classes = 32;         // sizes up to 2 KiB are cached
constexpr std::size_t max_cached = 4096;    // per class; bounds what a burst leaves behind

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
  if constexpr (cache_enabled) {
    std::size_t c = class_of(size);
    if (c < classes) {
      free_list& l = lists[c];
      if (free_block* b = l.head) {
        l.head = b->next;
        --l.count;
        return b;
      }
      return ::operator new((c + 1) * granule);
    }
  }
  return ::operator new(size);
}

void frame_free(void* p, std::size_t size) noexcept {
  if constexpr (cache_enabled) {
    std::size_t c = class_of(size);
    if (c < classes) {
      free_list& l = lists[c];
      if (l.count < max_cached) {
        auto* b = static_cast<free_block*>(p);
        b->next = l.head;
        l.head = b;
        ++l.count;
        return;
      }
      ::operator delete(p, (c + 1) * granule);
      return;
    }
  }
  ::operator delete(p, size);
}

}  // namespace weft::detail
