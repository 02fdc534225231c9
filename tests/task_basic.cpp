#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "test_support.hpp"

using namespace weft;

namespace {

task<int> answer() { co_return 42; }
task<int> twice() { co_return 2 * co_await answer(); }
task<void> nothing(int& touched) {
  touched = 1;
  co_return;
}
task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}
task<std::unique_ptr<std::string>> move_only() { co_return std::make_unique<std::string>("moved"); }

task<long> chain(long depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain(depth - 1);
}

}  // namespace

TEST(task_basic, returns_values) { EXPECT_EQ(run(twice()), 84); }

TEST(task_basic, void_task_runs_body) {
  int touched = 0;
  run(nothing(touched));
  EXPECT_EQ(touched, 1);
}

TEST(task_basic, lazy_until_awaited) {
  int touched = 0;
  {
    task<void> t = nothing(touched);
    EXPECT_TRUE(t.valid());
    EXPECT_FALSE(t.done());
  }  // destroyed unstarted
  EXPECT_EQ(touched, 0);
}

TEST(task_basic, exception_propagates_through_await) {
  auto outer = []() -> task<std::string> {
    try {
      co_await thrower();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "not thrown";
  };
  EXPECT_EQ(run(outer()), "boom");
  EXPECT_THROW(run(thrower()), std::runtime_error);
}

TEST(task_basic, move_only_values) { EXPECT_EQ(*run(move_only()), "moved"); }

TEST(task_basic, moved_from_task_is_invalid) {
  task<int> a = answer();
  task<int> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_TRUE(b.valid());
  EXPECT_EQ(run(std::move(b)), 42);
}

// Symmetric transfer: a million nested awaits, each resuming its parent on completion, must not grow
// the stack (8 MiB would hold only some tens of thousands of frames' worth of nested resume calls).
TEST(task_basic, million_deep_await_chain_uses_constant_stack) {
  EXPECT_EQ(run(chain(1'000'000)), 1'000'000);
}
