// The frame cache (weft/detail/frame_alloc.hpp, src/runtime/frame_alloc.cpp) as it ships: frame_alloc,
// frame_free, frame_cache_trim and frame_cache_release_thread, called from model threads over blocks
// that one thread allocates and others free. The model build's lists hold 4 blocks and its depot 2
// lists, keeping 1 when trimmed, so that a few blocks reach every path. (replica/frame_cache is the
// teaching copy, with the protocol spelled out.)
//
// cross_thread_free_with_trim: thread 0 allocates twenty blocks and hands nine to thread 1 and eleven
// to thread 2 (a frame allocated on one thread and freed on another), then trims while they run. Each
// frees its share (parking full lists in the depot, or finding it full), allocates three (from its
// list, the depot or malloc) and frees them; each thread's lists go back as it ends (the hook that
// frame_alloc.cpp sets on a thread's first slow path).
//
// Checked in every run:
// - No block is handed out twice: an allocation never returns a block some thread holds.
// - The depot's count and lists are cells: every access must be ordered by its lock (else a data race).
// - None is lost (every_frame_block_accounted): at the end every block that malloc handed out is back
//   in malloc or parked in the depot, each parked list's count is its length, and depot_over counts the
//   lists above depot_keep.
#include <cstddef>
#include <set>
#include <vector>

#include "prelude.hpp"
#include "runtime_models.hpp"
#include "weft/detail/frame_alloc.hpp"
#include "weft/detail/model.hpp"

namespace weft::model {
namespace {

constexpr std::size_t frame_size = 64;  // one size class

std::set<void*> held;  // blocks some thread holds (plain: one model thread runs at a time)

void* take() {
  void* p = detail::frame_alloc(frame_size);
  require(held.insert(p).second, "no frame block is handed out while a thread holds it");
  return p;
}

void give_back(void* p) {
  held.erase(p);
  detail::frame_free(p, frame_size);
}

void free_then_reuse(std::vector<void*> mine) {
  for (void* p : mine) give_back(p);
  std::vector<void*> again;
  for (int i = 0; i < 3; ++i) again.push_back(take());
  for (void* p : again) give_back(p);
}  // and the thread's lists go back as it ends

WEFT_MODEL_CASE(cross_thread_free_with_trim, "runtime/frame_cache/cross_thread_free_with_trim") {
  options opts = runtime_schedules(3);  // 65,580 runs, 4 s here; a fourth preemption takes minutes
  return check(name,
               model_fns{[] {
                           held.clear();
                           detail::frame_cache_clear();
                         },
                         [] {
                           std::vector<void*> first, second;
                           for (int i = 0; i < 20; ++i) (i < 9 ? first : second).push_back(take());
                           thread a([first] { free_then_reuse(first); });
                           thread b([second] { free_then_reuse(second); });
                           detail::frame_cache_trim(64);
                           a.join();
                           b.join();
                         },
                         every_frame_block_accounted, {}},
               std::move(opts));
}

}  // namespace
}  // namespace weft::model
