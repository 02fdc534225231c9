#include "weft/detail/frame_alloc.hpp"

#include <new>

namespace weft::detail {

namespace {
// Blocks are always allocated at their full class size, in both modes, so that translation units built
// with and without the cache (a sanitized library, an unsanitized program) can free each other's
// blocks safely.
std::size_t block_size(std::size_t size) noexcept {
  std::size_t c = (size + frame_granule - 1) / frame_granule - 1;
  return c < frame_classes ? (c + 1) * frame_granule : size;
}
}  // namespace

thread_local frame_free_list frame_lists[frame_classes];

void* frame_alloc_slow(std::size_t size) { return ::operator new(block_size(size)); }
void frame_free_slow(void* p, std::size_t) noexcept { ::operator delete(p); }

}  // namespace weft::detail
