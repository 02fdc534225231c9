// What the replica models share: weft's spin lock in its own shape, and a freed-once marker for state
// whose lifetime a protocol decides (a spawn_state, a oneshot's slot).
//
// Replicas, not the real code: these models restate a protocol of src/ or include/ with the checker's
// wrappers (the real code of those needs the runtime: its loops, reactor and threads). What a replica
// model shows holds for the replica; it holds for weft as far as the replica follows the code it names,
// which each model's header comment lists. The sync primitives are checked as real code as well
// (real_*.cpp, over the loops of loop.hpp); their replicas stay for the expected failures and the
// windows that need plain accesses interleaved.
#pragma once

#include <type_traits>

#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"

namespace weft::model::replica {

/// weft::detail::spin_lock (weft/detail/sync_waiter.hpp, src/sync/sync_waiter.cpp): test-and-test-and-
/// set; the waiting loop pauses 64 times, then yields (both are the checker's yield).
class spin_lock {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) {
          weft::detail::cpu_relax();
        } else {
          weft::detail::thread_yield();
        }
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  weft::detail::atomic<bool> locked_{false};
};

/// A block of memory that a protocol frees exactly once. touch() stands for any access to it (free()
/// writes it, as a destructor would): a require() catches an access after the free in the accessing
/// thread's own order, and the race detector one that the free is not ordered with by happens-before.
/// Accesses to different fields of the block do not conflict with one another: their own cells say
/// which are protected how.
class lifetime {
 public:
  /// A plain access.
  void touch() {
    memory_.get();  // first: with options::cell_steps, other threads may run here
    require(frees_ == 0, "the state is not touched after it was freed");
  }
  /// An atomic operation `op` on the block: checked against the free before it (the race detector,
  /// for a free not ordered before the operation) and after it (a free at its scheduling point).
  template <class Op>
  auto atomic_access(Op op) {
    memory_.get();
    if constexpr (std::is_void_v<decltype(op())>) {
      op();
      require(frees_ == 0, "the state is not touched after it was freed");
    } else {
      auto result = op();
      require(frees_ == 0, "the state is not touched after it was freed");
      return result;
    }
  }
  void free() {
    memory_.set(0);
    require(frees_ == 0, "the state is freed exactly once (not twice)");
    ++frees_;
  }
  int frees() const noexcept { return frees_; }

 private:
  int frees_ = 0;  // plain: one model thread runs at a time; whether accesses are ordered is the cell's job
  weft::detail::cell<int> memory_;
};

}  // namespace weft::model::replica
