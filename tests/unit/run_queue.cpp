#include "runtime/run_queue.hpp"

#include <gtest/gtest.h>

#include <coroutine>
#include <cstdint>

using weft::detail::run_queue;
using weft::detail::runnable;

TEST(run_queue, fifo_across_growth_and_wraparound) {
  run_queue q;
  auto tag = [](std::uintptr_t i) { return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(i * 16 + 16)); };
  std::uintptr_t pushed = 0, popped = 0;
  runnable r;
  // Interleave pushes and pops so the ring wraps before it grows.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 200; ++i) q.push({tag(pushed++), nullptr});
    for (int i = 0; i < 150; ++i) {
      ASSERT_TRUE(q.pop(r));
      ASSERT_EQ(r.handle, tag(popped++));
    }
  }
  EXPECT_EQ(q.size(), pushed - popped);
  while (q.pop(r)) ASSERT_EQ(r.handle, tag(popped++));
  EXPECT_EQ(popped, pushed);
  EXPECT_TRUE(q.empty());
}
