#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

task<int> value_after(clock::duration d, int v) {
  co_await sleep_for(d);
  co_return v;
}

task<void> fail_after(clock::duration d) {
  co_await sleep_for(d);
  throw std::runtime_error("detached failure");
}

}  // namespace

TEST(rt_spawn, join_returns_value) {
  auto body = []() -> task<int> {
    join_handle<int> h = spawn(value_after(5ms, 7));
    EXPECT_FALSE(h.done());
    co_return co_await std::move(h);
  };
  EXPECT_EQ(test::run_paused(body()), 7);
}

TEST(rt_spawn, spawned_task_starts_on_a_later_turn) {
  auto body = []() -> task<std::vector<int>> {
    std::vector<int> order;
    auto h = spawn([&order]() -> task<void> {
      order.push_back(2);
      co_return;
    });
    order.push_back(1);  // the spawner keeps running until it awaits
    co_await std::move(h);
    order.push_back(3);
    co_return order;
  };
  EXPECT_EQ(run(body()), (std::vector<int>{1, 2, 3}));
}

// Spawn-then-join fast path: the joiner would only wait, so a task it joins before the task has
// started runs at once, ahead of older ready tasks, and hands control straight back when it ends.
// It must also behave when the task suspends on the way, and when it fails.
TEST(rt_spawn, joining_a_task_that_has_not_started_runs_it_at_once) {
  auto body = []() -> task<std::vector<std::string>> {
    std::mutex mu;  // on several workers the two tasks may run at the same time
    std::vector<std::string> order;
    auto note = [&](std::string what) {
      std::lock_guard lock(mu);
      order.push_back(std::move(what));
    };
    auto older = spawn([&note]() -> task<void> {
      note("older");
      co_return;
    });
    auto joined = spawn([&note]() -> task<int> {
      note("joined starts");
      co_await sleep_for(1ms);
      note("joined ends");
      co_return 5;
    });
    int v = co_await std::move(joined);
    note("joiner " + std::to_string(v));
    co_await std::move(older);
    auto failing = spawn([]() -> task<int> {
      throw std::invalid_argument("nope");
      co_return 0;
    });
    try {
      co_await std::move(failing);
    } catch (const std::invalid_argument&) {
      note("caught");
    }
    co_return order;
  };
  auto order = test::run_paused(body());
  if (test::fifo_order()) {
    EXPECT_EQ(order, (std::vector<std::string>{"joined starts", "older", "joined ends", "joiner 5", "caught"}));
  } else {
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<std::string>{"caught", "joined ends", "joined starts", "joiner 5", "older"}));
  }
}

// The fast path above must not starve the loop: a loop that spawns and joins tasks that never suspend
// still lets older ready tasks run (here the one that tells it to stop), within a bounded number of
// rounds. Without a bound on hand-offs per resume it would never return to the loop.
TEST(rt_spawn, a_spawn_and_join_loop_still_lets_other_tasks_run) {
  auto body = []() -> task<int> {
    std::atomic<bool> stop = false;
    auto stopper = spawn([&stop]() -> task<void> {
      stop = true;
      co_return;
    });
    int rounds = 0;
    while (!stop.load()) {
      co_await spawn([]() -> task<void> { co_return; });
      ++rounds;
    }
    co_await std::move(stopper);
    co_return rounds;
  };
  // On several workers a thief may take the stopper and be preempted before it runs it, while the
  // spawner goes on: the bound there only catches "never returns".
  EXPECT_LE(run(body(), test::options()), test::multi_worker() ? 100'000'000 : 1000);
}

// A task that already ran and yielded keeps its place behind the tasks that were ready before it,
// even when it is the newest ready coroutine as its joiner awaits it: yield_now's promise.
TEST(rt_spawn, joining_a_task_that_yielded_keeps_the_yield_order) {
  if (!test::fifo_order()) GTEST_SKIP() << "checks the order of one loop's ready tasks";
  auto body = []() -> task<std::vector<std::string>> {
    std::vector<std::string> order;
    auto yielder = spawn([&order]() -> task<void> {
      order.push_back("yielder runs");
      spawn([&order]() -> task<void> {
        order.push_back("older task");
        co_return;
      }).detach();
      co_await yield_now();  // behind the task just spawned, and the newest ready coroutine
      order.push_back("yielder resumes");
    });
    co_await yield_now();  // the yielder runs and yields
    co_await std::move(yielder);
    co_return order;
  };
  EXPECT_EQ(run(body()), (std::vector<std::string>{"yielder runs", "older task", "yielder resumes"}));
}

TEST(rt_spawn, join_rethrows_exception) {
  auto body = []() -> task<std::string> {
    auto h = spawn([]() -> task<int> {
      throw std::invalid_argument("bad");
      co_return 1;
    });
    try {
      co_await std::move(h);
    } catch (const std::invalid_argument& e) {
      co_return e.what();
    }
    co_return "none";
  };
  EXPECT_EQ(run(body()), "bad");
}

TEST(rt_spawn, callable_captures_live_as_long_as_the_task) {
  auto body = []() -> task<std::string> {
    join_handle<std::string> h;
    {
      std::string text = "captured by value";
      auto counter = std::make_shared<int>(0);
      // The lambda object dies at the end of this block in the caller; spawn keeps its copy alive.
      h = spawn([text, counter]() -> task<std::string> {
        co_await sleep_for(10ms);
        ++*counter;
        co_return text + " " + std::to_string(counter.use_count());
      });
    }
    co_return co_await std::move(h);
  };
  EXPECT_EQ(test::run_paused(body()), "captured by value 1");
}

TEST(rt_spawn, detached_exception_goes_to_hook_with_name) {
  std::vector<std::string> reports;
  runtime_options o = test::paused();
  o.on_unhandled_exception = test::record_reports(reports);
  auto body = []() -> task<int> {
    spawn("worker-7", fail_after(1ms)).detach();
    { auto dropped = spawn("worker-8", fail_after(2ms)); }  // dropped handle = detached
    co_await sleep_for(10ms);
    co_return 5;  // the runtime kept running after both failures
  };
  EXPECT_EQ(run(body(), o), 5);
  EXPECT_EQ(reports, (std::vector<std::string>{"worker-7: detached failure", "worker-8: detached failure"}));
}

TEST(rt_spawn, unobserved_exception_reported_when_handle_dropped_after_failure) {
  int reports = 0;
  runtime_options o = test::paused();
  o.on_unhandled_exception = [&](std::string_view, std::exception_ptr) { ++reports; };
  auto body = []() -> task<void> {
    auto h = spawn(fail_after(1ms));
    co_await sleep_for(5ms);
    EXPECT_TRUE(h.done());
    h.detach();  // failed earlier, nobody looked: reported now
  };
  run(body(), o);
  EXPECT_EQ(reports, 1);
}

TEST(rt_spawn, spawn_outside_runtime_throws) {
  try {
    auto h = spawn(value_after(1ms, 1));
    FAIL() << "spawn outside a runtime must throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::not_in_runtime);
  }
}

TEST(rt_spawn, runtime_spawn_before_block_on) {
  runtime rt(test::paused_while_held());
  auto h = rt.spawn(value_after(3ms, 11));
  EXPECT_EQ(test::settled_live_tasks(rt, 1), 1u);
  auto body = [](join_handle<int> joined) -> task<int> { co_return co_await std::move(joined); };
  EXPECT_EQ(rt.block_on(body(std::move(h))), 11);
  EXPECT_EQ(test::settled_live_tasks(rt), 0u);
}

TEST(rt_spawn, post_from_other_thread_wakes_the_loop) {
  runtime rt(test::options());
  std::atomic<bool> ran{false};
  auto body = [&]() -> task<int> {
    std::thread t([&] {
      std::this_thread::sleep_for(20ms);
      rt.post([&] { ran = true; });
    });
    // The loop has nothing else to do; the post must wake its epoll wait.
    while (!ran) co_await sleep_for(1ms);
    t.join();
    co_return 1;
  };
  EXPECT_EQ(rt.block_on(body()), 1);
  EXPECT_TRUE(ran);
}

TEST(rt_spawn, post_from_many_threads_runs_everything_once) {
  runtime rt(test::options());
  std::atomic<int> count = 0;  // posts run on the first worker; the body may run on another
  constexpr int threads = 4, per_thread = 2000;
  auto body = [&]() -> task<void> {
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) {
      ts.emplace_back([&] {
        for (int j = 0; j < per_thread; ++j) rt.post([&] { ++count; });
      });
    }
    for (auto& t : ts) t.join();
    while (count.load() < threads * per_thread) co_await yield_now();
  };
  rt.block_on(body());
  EXPECT_EQ(count.load(), threads * per_thread);
}

// A post that throws runs once; its exception goes to the hook, and the posts after it still run once.
// (It used to escape run_posted with the batch still queued: on one loop the batch ran again and the
// throwing post twice; on several workers the exception ended the process.)
TEST(rt_spawn, a_post_that_throws_is_reported_once_and_the_others_run) {
  std::vector<std::string> reports;
  runtime_options o = test::options();
  std::mutex m;
  o.on_unhandled_exception = [&](std::string_view name, std::exception_ptr e) {
    std::lock_guard g(m);
    test::record_reports(reports)(name, e);
  };
  runtime rt(o);
  std::atomic<int> before = 0, thrower = 0, after = 0;
  auto body = [&]() -> task<void> {
    std::thread t([&] {
      rt.post([&] { ++before; });
      rt.post([&] {
        ++thrower;
        throw std::runtime_error("boom");
      });
      rt.post([&] { ++after; });
    });
    t.join();
    while (after.load() == 0) co_await sleep_for(1ms);
    co_await sleep_for(5ms);  // time for a second run of the batch, were there one
  };
  rt.block_on(body());
  EXPECT_EQ(before.load(), 1);
  EXPECT_EQ(thrower.load(), 1);
  EXPECT_EQ(after.load(), 1);
  std::lock_guard g(m);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], "post: boom");
}

// runtime::spawn and spawn_on promise "safe from any thread": on one loop as on several, tasks spawned
// from other threads while the loop runs all run, once, and their handles can be dropped or polled
// there. (Before, a one-loop runtime pushed onto its run queue from the calling thread, unlocked.)
TEST(rt_spawn, spawn_from_other_threads_while_the_loop_runs) {
  runtime rt(test::options());
  std::atomic<int> ran = 0;
  std::atomic<int> finished_handles = 0;
  constexpr int threads = 3, per_thread = 1500;
  auto body = [&]() -> task<void> {
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) {
      ts.emplace_back([&, i] {
        std::vector<join_handle<int>> kept;
        for (int j = 0; j < per_thread; ++j) {
          auto work = [&, j]() -> task<int> {
            if (j % 3 == 0) co_await yield_now();
            ++ran;
            co_return j;
          };
          if (j % 2 == 0) {
            rt.spawn(work).detach();
          } else if (i == 0) {
            kept.push_back(rt.spawn_on(0, work));
          } else {
            kept.push_back(rt.spawn(work));
          }
        }
        for (auto& h : kept) {
          while (!h.done()) std::this_thread::yield();
          ++finished_handles;
        }
      });
    }
    while (ran.load() < threads * per_thread) co_await sleep_for(100us);
    for (auto& t : ts) t.join();
  };
  rt.block_on(body());
  EXPECT_EQ(ran.load(), threads * per_thread);
  EXPECT_EQ(finished_handles.load(), threads * (per_thread / 2));
  EXPECT_EQ(test::settled_live_tasks(rt), 0u);
}

TEST(rt_spawn, a_spawn_from_another_thread_that_never_ran_is_abandoned_with_the_runtime) {
  join_handle<int> h;
  {
    runtime rt(test::options());
    std::thread([&] { h = rt.spawn(value_after(1h, 1)); }).join();  // never ends on its own
    // (2 was seen once in ten TSan runs on 4 workers: the task on its way from the injection queue.)
    EXPECT_EQ(test::settled_live_tasks(rt, 1), 1u);
  }
  EXPECT_TRUE(h.done());
}

TEST(rt_spawn, block_on_from_a_second_thread_while_the_loop_runs_is_refused) {
  if (test::multi_worker()) GTEST_SKIP() << "several workers: block_on only waits, from any number of threads";
  runtime rt(test::options());
  std::atomic<bool> refused = false;
  std::atomic<bool> refused_task_ran = false;
  auto body = [&]() -> task<void> {
    std::thread t([&] {
      try {
        rt.block_on([&]() -> task<void> {
          refused_task_ran = true;
          co_return;
        }());
      } catch (const std::logic_error&) {
        refused = true;
      }
    });
    while (!refused) co_await sleep_for(100us);
    t.join();
    co_await sleep_for(5ms);  // time for the refused task to run, were it queued
  };
  rt.block_on(body());
  EXPECT_TRUE(refused);
  EXPECT_FALSE(refused_task_ran);
}

TEST(rt_spawn, join_all_awaits_every_handle_even_after_one_throws) {
  auto body = []() -> task<void> {
    int finished = 0;  // a local the tasks use: none may still run when join_all returns
    std::vector<join_handle<void>> hs;
    hs.push_back(spawn([&]() -> task<void> {
      co_await sleep_for(1ms);
      throw std::runtime_error("first");
    }));
    for (int i = 2; i < 5; ++i) {
      hs.push_back(spawn([&, i]() -> task<void> {
        co_await sleep_for(std::chrono::milliseconds(i));
        ++finished;
      }));
    }
    EXPECT_THROW(co_await join_all(hs), std::runtime_error);
    EXPECT_EQ(finished, 3);
  };
  test::run_paused(body());
}

// A refused block_on leaves nothing behind: its task never runs (it used to be spawned first, and
// then ran detached).
TEST(rt_spawn, nested_block_on_is_refused) {
  runtime rt(test::options());
  std::atomic<bool> refused_task_ran = false;
  auto refused = [&]() -> task<int> {
    refused_task_ran = true;
    co_return 1;
  };
  auto body = [&]() -> task<bool> {
    bool was_refused = false;
    try {
      rt.block_on(refused());
    } catch (const std::logic_error&) {
      was_refused = true;
    }
    co_await sleep_for(5ms);  // time for it to run, were it queued
    co_return was_refused;
  };
  EXPECT_TRUE(rt.block_on(body()));
  rt.block_on([]() -> task<void> { co_await sleep_for(1ms); }());
  EXPECT_FALSE(refused_task_ran);
}

TEST(rt_spawn, join_handle_state) {
  auto body = []() -> task<void> {
    join_handle<int> empty;
    EXPECT_FALSE(empty.valid());
    auto h = spawn(value_after(1ms, 1));
    EXPECT_TRUE(h.valid());
    join_handle<int> moved = std::move(h);
    EXPECT_FALSE(h.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(co_await std::move(moved), 1);
  };
  test::run_paused(body());
}
