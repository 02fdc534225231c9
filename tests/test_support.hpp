// Helpers shared by the tests.
#pragma once

#include <weft/weft.hpp>

#include <chrono>

namespace weft::test {

using namespace std::chrono_literals;

/// Options for a runtime on virtual time: sleeps cost nothing and timestamps are exact.
inline runtime_options paused() {
  runtime_options o;
  o.start_paused = true;
  return o;
}

/// Runs `t` on a fresh paused runtime.
template <class T>
T run_paused(task<T> t) {
  return run(std::move(t), paused());
}

/// Virtual time elapsed since `start`, in milliseconds.
inline long long ms_since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

}  // namespace weft::test

/// ASSERT_TRUE for the body of a task<void>: gtest's ASSERT_* use `return`, which a coroutine cannot.
#define CO_ASSERT_TRUE(cond)                     \
  do {                                           \
    if (!(cond)) {                               \
      ADD_FAILURE() << "expected true: " #cond; \
      co_return;                                 \
    }                                            \
  } while (0)
