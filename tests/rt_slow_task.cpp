#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

TEST(rt_slow_task, reports_task_that_holds_the_loop) {
  std::vector<std::pair<std::string, std::chrono::nanoseconds>> reports;
  runtime_options o;
  o.slow_task_threshold = 20ms;
  o.on_slow_task = [&](std::string_view name, std::chrono::nanoseconds held) { reports.emplace_back(name, held); };
  auto body = []() -> task<void> {
    auto hog = spawn("hog", []() -> task<void> {
      std::this_thread::sleep_for(60ms);  // blocks the loop: exactly what the detector is for
      co_return;
    });
    auto polite = spawn("polite", []() -> task<void> {
      for (int i = 0; i < 5; ++i) co_await yield_now();
    });
    co_await std::move(hog);
    co_await std::move(polite);
  };
  run(body(), o);
  // Only the hog's reports count: the detector measures wall time, so a turn of another task that the
  // machine preempted may be reported too.
  std::erase_if(reports, [](const auto& r) { return r.first != "hog"; });
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_GE(reports[0].second, 60ms);
}

TEST(rt_slow_task, off_by_default) {
  int reports = 0;
  runtime_options o;
  o.on_slow_task = [&](std::string_view, std::chrono::nanoseconds) { ++reports; };
  auto body = []() -> task<void> {
    std::this_thread::sleep_for(30ms);
    co_return;
  };
  run(body(), o);
  EXPECT_EQ(reports, 0);
}

// The slow task ends inside the turn that is measured, and its joiner drops the handle at once,
// freeing the task's state before the report is made (ASan checks the report reads no freed name).
TEST(rt_slow_task, task_freed_during_the_measured_turn) {
  std::vector<std::string> names;
  runtime_options o;
  o.slow_task_threshold = 10ms;
  o.on_slow_task = [&](std::string_view name, std::chrono::nanoseconds) { names.emplace_back(name); };
  auto body = []() -> task<void> {
    co_await spawn("short-lived hog", []() -> task<void> {
      std::this_thread::sleep_for(20ms);
      co_return;
    });
  };
  run(body(), o);
  // (A preempted turn of the body may be reported too: only the hog's reports are checked.)
  std::erase_if(names, [](const std::string& n) { return n != "short-lived hog"; });
  EXPECT_EQ(names, std::vector<std::string>{"short-lived hog"});
}
