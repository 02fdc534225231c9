// User-level threads for the model checker: each model thread runs on a stack of its own, and the
// checker switches between them with swapcontext on one OS thread, so only one runs at a time and a
// run is a deterministic function of the order of the switches.
//
// Lifetime: a fiber whose run is abandoned (a failed run) is never resumed; its stack goes back to the
// pool without unwinding, so whatever its frames own leaks. A check stops at its first failed run, so
// that is at most one run's worth per check.
#pragma once

#include <ucontext.h>

#include <cstddef>
#include <vector>

namespace weft::model::engine {

/// mmap'd stacks with a guard page below each, kept for the next run.
class stack_pool {
 public:
  static constexpr std::size_t stack_size = 256 * 1024;

  stack_pool() = default;
  stack_pool(const stack_pool&) = delete;
  stack_pool& operator=(const stack_pool&) = delete;
  ~stack_pool();

  void* take();
  void give(void* stack) { free_.push_back(stack); }

 private:
  std::vector<void*> free_;
  std::vector<void*> all_;
};

class fiber {
 public:
  /// Prepares the fiber to run `entry` on `stack` (of stack_pool::stack_size bytes) when first switched to.
  void prepare(void (*entry)(), void* stack);
  /// Saves the running context into `from` and continues `to`; returns when something switches back.
  static void switch_to(fiber& from, fiber& to);

 private:
  ucontext_t context_{};
};

}  // namespace weft::model::engine
