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

TEST(run_queue, pop_newest_if_takes_back_only_the_newest_first_resume) {
  run_queue q;
  auto tag = [](std::uintptr_t i) { return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(i * 16 + 16)); };
  auto* ctx = reinterpret_cast<weft::detail::context*>(std::uintptr_t{4096});
  EXPECT_FALSE(q.pop_newest_if(tag(0)));  // empty
  runnable r;
  // Across a wrap of the ring: the newest entry sits at index 0 of the buffer.
  for (std::uintptr_t i = 0; i < 300; ++i) q.push({tag(i), nullptr});
  for (int i = 0; i < 299; ++i) ASSERT_TRUE(q.pop(r));
  q.push_fresh({tag(300), ctx});
  q.push_fresh({tag(301), ctx});
  EXPECT_FALSE(q.pop_newest_if(tag(300)));  // queued, but not the newest
  EXPECT_TRUE(q.pop_newest_if(tag(301)));
  EXPECT_TRUE(q.pop_newest_if(tag(300)));  // now it is
  q.push({tag(302), ctx});
  EXPECT_FALSE(q.pop_newest_if(tag(302)));  // the newest, but a wake-up, not a first resume
  q.push_fresh({tag(303), ctx});
  ASSERT_TRUE(q.pop(r));
  EXPECT_EQ(r.handle, tag(299));
  ASSERT_TRUE(q.pop(r));
  EXPECT_EQ(r.handle, tag(302));
  ASSERT_TRUE(q.pop(r));
  EXPECT_EQ(r.handle, tag(303));
  EXPECT_EQ(r.ctx, ctx);  // the mark never leaves the queue
  EXPECT_TRUE(q.empty());
}
