// Helpers shared by the tests.
#pragma once

#include <weft/weft.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace weft::test {

using namespace std::chrono_literals;

/// Options for the runtime flavour under test: one loop, or N workers when the environment says
/// WEFT_TEST_WORKERS=N (ctest runs the core suites both ways).
inline runtime_options options() {
  runtime_options o;
  if (const char* n = std::getenv("WEFT_TEST_WORKERS")) o.workers = static_cast<std::size_t>(std::atoi(n));
  return o;
}

/// True when the tests run on several workers.
inline bool multi_worker() { return options().workers != 1; }

/// True when ready tasks run in a shuffled order (WEFT_SHUFFLE_SEED, see runtime_options::shuffle_seed;
/// or WEFT_CHAOS, which shuffles too).
inline bool shuffled() { return std::getenv("WEFT_SHUFFLE_SEED") != nullptr || std::getenv("WEFT_CHAOS") != nullptr; }

/// For tests that check the order in which ready tasks run on one loop (first come, first served).
inline bool fifo_order() { return !multi_worker() && !shuffled(); }

/// Options for a runtime on virtual time: sleeps cost nothing and timestamps are exact.
inline runtime_options paused() {
  runtime_options o = options();
  o.start_paused = true;
  return o;
}

/// Paused on one loop; real time on several workers. For tests that look at tasks still pending after
/// block_on returns: several workers keep running then, and paused time would jump to every deadline.
inline runtime_options paused_while_held() { return multi_worker() ? options() : paused(); }

/// live_tasks() once it settles at `expected` (or after 2 s): on several workers a task that has just
/// finished may still be on its way out (its worker is releasing it) when block_on returns, and one on
/// its way from the injection queue to a worker's may be counted twice for a moment.
inline std::size_t settled_live_tasks(const runtime& rt, std::size_t expected = 0) {
  for (int i = 0; i < 2000 && rt.live_tasks() != expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return rt.live_tasks();
}

/// Runs `t` on a fresh runtime of the flavour under test, on real time.
template <class T>
T run_test(task<T> t) {
  return run(std::move(t), options());
}

/// Runs `t` on a fresh paused runtime.
template <class T>
T run_paused(task<T> t) {
  return run(std::move(t), paused());
}

/// An on_unhandled_exception hook that records each report as "task name: what()".
inline auto record_reports(std::vector<std::string>& out) {
  return [&out](std::string_view name, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      out.push_back(std::string(name) + ": " + ex.what());
    }
  };
}

/// Virtual time elapsed since `start`, in milliseconds.
inline long long ms_since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

/// Holds the calling thread (a loop, when called from a task) for `d` of real time without yielding.
inline void spin_for(std::chrono::nanoseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

/// This process's resident set size, KiB (/proc/self/statm).
inline std::size_t resident_kib() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / 1024;
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
