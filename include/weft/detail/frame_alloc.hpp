// Recycling allocator for coroutine frames and spawn states.
//
// Each thread keeps free lists by 16-byte size class (up to 4 KiB); a block freed on one thread goes to
// that thread's lists. Spawn, wake and complete therefore never reach malloc in steady state. Sanitizer
// builds bypass the cache so that use-after-free of a frame is still caught.
#pragma once

#include <cstddef>

namespace weft::detail {

void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

/// Mixin that routes a type's (or a coroutine promise's frame's) allocation through `frame_alloc`.
struct frame_allocated {
  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }
};

}  // namespace weft::detail
