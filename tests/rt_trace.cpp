// The timeline trace (runtime_options::trace_file): a traced run is read back by tests/trace_check.py,
// which checks what a viewer needs (slices that never overlap on a worker's track, every task begun
// and ended, its slices in between, its parent in the trace) and summarises it. The tests then check
// the tasks, their slices and parents against what the program did.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_support.hpp"
#include "test_support.hpp"

using namespace weft;

namespace {

std::string temp_path(const char* what) {
  return testing::TempDir() + "weft_trace_" + what + "_" + std::to_string(::getpid()) + ".json";
}

/// trace_check.py's summary of `path` (empty if the check failed: its reason is on stderr).
std::string check(const std::string& path) {
  int status = 0;
  std::string out = test::shell("/usr/bin/python3 " WEFT_TESTS_DIR "/trace_check.py " + path, &status);
  if (status != 0) return {};
  return out;
}

/// How many times `what` occurs in the file at `path`.
std::size_t occurrences(const std::string& path, const std::string& what) {
  std::string text = test::shell("cat " + path);
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

task<void> yields(int n) {
  for (int i = 0; i < n; ++i) co_await yield_now();
}

}  // namespace

TEST(rt_trace, tasks_slices_and_parents_are_traced) {
  std::string path = temp_path("tasks");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      auto alpha = spawn("alpha", yields(3));  // four slices: three yields and the end
      auto beta = spawn("beta", []() -> task<void> {
        co_await spawn("gamma", yields(1));
      });
      co_await std::move(alpha);
      co_await std::move(beta);
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  if (test::shuffled()) GTEST_SKIP() << "chaos adds yields, and so slices";
  EXPECT_NE(summary.find(R"("alpha": {"parent": "main", "slices": 4)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("beta": {"parent": "main")"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("gamma": {"parent": "beta", "slices": 2)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("dropped": 0)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("workers": )" + std::to_string(test::options().workers)), std::string::npos) << summary;
  std::remove(path.c_str());
}

// Many tasks on every worker, spawned from inside and from outside the runtime: chunks from the
// workers reach the writer in any order, and every slice still finds its task's name.
TEST(rt_trace, many_tasks_on_several_workers_all_find_their_names) {
  std::string path = temp_path("many");
  {
    runtime_options o;
    o.workers = 4;
    o.trace_file = path;
    runtime rt(o);
    std::vector<join_handle<void>> outside;
    for (int i = 0; i < 50; ++i) outside.push_back(rt.spawn(yields(2)));
    rt.block_on([&]() -> task<void> {
      std::vector<join_handle<void>> inside;
      for (int i = 0; i < 5000; ++i) inside.push_back(spawn("inner", yields(i % 3)));
      co_await join_all(inside);
      co_await join_all(outside);
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  if (test::shuffled()) GTEST_SKIP() << "chaos adds yields, and so slices";
  EXPECT_NE(summary.find(R"("inner": {"parent": "main", "slices": 9999)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("dropped": 0)"), std::string::npos) << summary;
  std::remove(path.c_str());
}

// Past trace_max_bytes events are dropped, counted, and the file is still a whole JSON document.
TEST(rt_trace, the_size_bound_drops_events_and_keeps_the_file_whole) {
  std::string path = temp_path("bound");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    o.trace_max_bytes = 16 * 1024;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      for (int i = 0; i < 2000; ++i) co_await spawn(yields(1));
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "not a whole JSON document";
  EXPECT_EQ(summary.find(R"("dropped": 0)"), std::string::npos) << summary;
  FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::fseek(f, 0, SEEK_END);
  EXPECT_LE(std::ftell(f), 16 * 1024);
  std::fclose(f);
  std::remove(path.c_str());
}

// A file that cannot be created: the runtime runs untraced, and says so once on stderr.
TEST(rt_trace, an_unwritable_trace_file_leaves_the_runtime_running) {
  runtime_options o = test::options();
  o.trace_file = "/nonexistent-directory/trace.json";
  runtime rt(o);
  EXPECT_EQ(rt.block_on([]() -> task<int> { co_return co_await spawn([]() -> task<int> { co_return 7; }); }()), 7);
}

// A task_group left by an exception runs its children to their end inside the scope's resume (a
// nested turn): the outer slice is split around them, never overlapping them. A group's joiner,
// woken by its last child, runs on a turn of its own, under its own name.
TEST(rt_trace, nested_turns_and_group_joins_keep_slices_apart) {
  std::string path = temp_path("groups");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      auto joined = spawn("joined", []() -> task<void> {
        task_group g;
        g.spawn("child", yields(2));
        co_await g.join();
        co_await yields(1);
      });
      auto thrower = spawn("thrower", []() -> task<void> {
        try {
          task_group g;
          g.spawn("orphan", yields(2));
          throw std::runtime_error("leaves the scope");
        } catch (const std::runtime_error&) {
        }
        co_return;
      });
      // A name that is not UTF-8 (the trace is JSON, so UTF-8): its bad byte becomes U+FFFD.
      co_await spawn("caf\xe9 \xff", yields(0));
      co_await std::move(joined);
      co_await std::move(thrower);
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  // Cancelled with its group before it ran: its yields return at once, so one slice.
  EXPECT_NE(summary.find(R"("orphan": {"parent": "thrower", "slices": 1)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("child": {"parent": "joined", "slices": 3)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("caf\ufffd \ufffd": {"parent": "main")"), std::string::npos) << summary;
  std::remove(path.c_str());
}

// HTTP requests are spans: on the server, inside the connection's task ("METHOD /path", status, sizes); on the
// client, inside the task that sent it ("METHOD URL", status, reused), with its phases nested within.
TEST(rt_trace, http_requests_are_spans_on_both_sides) {
  std::string path = temp_path("http");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      http::router routes;
      routes.get("/hello", [](http::request&) -> task<http::response> { co_return http::response::text(200, "hi"); });
      routes.post("/echo", [](http::request& req) -> task<http::response> {
        co_return http::response::text(201, req.body);
      });
      http::server server(std::move(routes));
      CO_ASSERT_TRUE(server.listen({net::ip_address::loopback_v4(), 0}).has_value());
      auto serving = spawn(server.serve());
      std::string base = "http://" + server.local_endpoint().to_string();
      http::client client;
      for (int i = 0; i < 3; ++i) CO_ASSERT_TRUE((co_await client.get(base + "/hello")).has_value());
      auto posted = co_await client.post(base + "/echo", "12345");
      CO_ASSERT_TRUE(posted.has_value());
      EXPECT_EQ(posted->status, 201);
      server.shutdown();
      co_await std::move(serving);
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  EXPECT_NE(summary.find(R"("http connection": {"parent": )"), std::string::npos) << summary;
  std::string text = test::shell("cat " + path);  // shown when a count is off
  auto count = [&path](const std::string& what) { return occurrences(path, what); };
  // The server's side: each request a span in its connection's task, with status and sizes.
  EXPECT_EQ(count(R"("name":"GET /hello","pid")"), 6u) << text;  // a begin and an end each
  EXPECT_EQ(count(R"("status":201,"request_bytes":5,"response_bytes":5)"), 1u);
  // The client's side: each request a span in the task that sent it, with its phases inside. One
  // connection, reused by the three after the first.
  EXPECT_EQ(count(R"("name":"GET http://127.0.0.1:)"), 6u) << text;
  EXPECT_EQ(count(R"("name":"POST http://127.0.0.1:)"), 2u) << text;
  EXPECT_EQ(count(R"("name":"connect")"), 2u) << text;
  EXPECT_EQ(count(R"("name":"dns")"), 2u) << text;  // the name lookup, inside connect
  EXPECT_EQ(count(R"("host":"127.0.0.1","addresses":1)"), 1u) << text;
  EXPECT_EQ(count(R"("reused":true)"), 3u) << text;
  EXPECT_EQ(count(R"("name":"wait")"), 8u) << text;
  EXPECT_NE(summary.find(R"("spans": 22)"), std::string::npos) << summary;
  std::remove(path.c_str());
}


// The flight recorder keeps the newest events, not the oldest, and a dump reads as a whole trace.
TEST(rt_trace, the_flight_recorder_keeps_the_newest_events) {
  std::string path = temp_path("flight");
  runtime_options o = test::options();
  o.flight_recorder_events = 10'000;
  runtime rt(o);
  EXPECT_TRUE(rt.metrics().poll_times_recorded);  // it records as the trace does
  rt.block_on([]() -> task<void> {
    co_await spawn("first", yields(10));
    for (int i = 0; i < 200; ++i) co_await spawn("middle", yields(100));  // about 40,000 events
    co_await spawn("last", yields(10));
  }());
  ASSERT_TRUE(rt.dump_flight_recorder(path));
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the dump breaks what a viewer needs";
  EXPECT_EQ(occurrences(path, R"("name":"first")"), 0u) << "the oldest events are gone";
  EXPECT_GE(occurrences(path, R"("name":"last")"), 3u) << "begin, slices, end";
  std::size_t slices = occurrences(path, R"("ph":"X")");
  EXPECT_GE(slices, 5'000u);  // at least the ring's size in events, of which about half are slices
  EXPECT_LE(slices, 10'000u + rt.workers() * 4096u);
  // A second dump, later, still works, and shows the same tail.
  ASSERT_TRUE(rt.dump_flight_recorder(path));
  EXPECT_FALSE(check(path).empty());
  std::remove(path.c_str());
}

TEST(rt_trace, without_a_flight_recorder_there_is_nothing_to_dump) {
  runtime rt(test::options());
  EXPECT_FALSE(rt.dump_flight_recorder(temp_path("none")));
  runtime_options o = test::options();
  o.flight_recorder_events = 1000;
  runtime recording(o);
  EXPECT_FALSE(recording.dump_flight_recorder("/nonexistent-dir/flight.json"));
}

// A slow task dumps the flight recorder: the stall is in the file, with what came before it.
TEST(rt_trace, a_slow_task_dumps_the_flight_recorder) {
  std::string path = temp_path("slow");
  std::remove(path.c_str());
  runtime_options o = test::options();
  o.flight_recorder_events = 10'000;
  o.slow_task_threshold = std::chrono::milliseconds(20);
  o.on_slow_task = [](std::string_view, std::chrono::nanoseconds) {};
  o.slow_task_dump_file = path;
  runtime rt(o);
  rt.block_on([]() -> task<void> {
    co_await spawn("before", yields(5));
    co_await spawn("stall", []() -> task<void> {
      test::spin_for(std::chrono::milliseconds(40));
      co_return;
    });
  }());
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "no dump, or one that breaks what a viewer needs";
  EXPECT_NE(summary.find(R"("before": {)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("stall": {)"), std::string::npos) << summary;
  std::remove(path.c_str());
}

// Dumps from another thread while every loop records: TSan checks the hand-over.
TEST(rt_trace, flight_recorder_dumps_from_another_thread_while_the_loops_run) {
  std::string path = temp_path("flight_busy");
  runtime_options o = test::options();
  o.flight_recorder_events = 20'000;
  runtime rt(o);
  std::atomic<bool> done{false};
  int dumps = 0;
  bool all_whole = true;
  std::thread dumper([&] {
    while (!done) {
      if (rt.dump_flight_recorder(path)) {
        ++dumps;
        all_whole = all_whole && !check(path).empty();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  rt.block_on([]() -> task<void> {
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < 100; ++i) {
      hs.push_back(spawn("worker task", []() -> task<void> {
        for (int k = 0; k < 200; ++k) {
          co_await yield_now();
          if (k % 50 == 0) co_await sleep_for(std::chrono::milliseconds(1));
        }
      }));
    }
    for (auto& h : hs) co_await std::move(h);
  }());
  done = true;
  dumper.join();
  EXPECT_GE(dumps, 1);
  EXPECT_TRUE(all_whole);
  std::remove(path.c_str());
}

// What woke each slice: a timer, I/O, or a task, whose wake is also an arrow from its slice.
TEST(rt_trace, slices_say_what_woke_them) {
  std::string path = temp_path("wakes");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      co_await sleep_for(std::chrono::milliseconds(2));  // a timer
      event ready;
      auto waiter = spawn("waiter", [&ready]() -> task<void> { (void)co_await ready.wait(); });
      co_await sleep_for(std::chrono::milliseconds(2));  // the waiter parks
      ready.set();                                        // a task wakes it
      co_await std::move(waiter);
      auto p = net::unix_stream::pair();
      CO_ASSERT_TRUE(p.has_value());
      auto& a = p->first;
      auto& b = p->second;
      auto reader = spawn("reader", [&b]() -> task<void> {
        char buf[8];
        (void)co_await b.read_some(std::span<char>(buf));  // I/O
      });
      co_await sleep_for(std::chrono::milliseconds(2));
      (void)co_await a.write_all("x");
      co_await std::move(reader);
      // A blocking-pool thread: a span in this task, and a wake from another thread.
      EXPECT_EQ(co_await spawn_blocking([] { return 7; }), 7);
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  EXPECT_NE(summary.find(R"("timer": )"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("io": )"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("task": )"), std::string::npos) << summary;
  EXPECT_EQ(summary.find(R"("arrows": 0)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("another thread": 1)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("spans": 1)"), std::string::npos) << summary;
  EXPECT_EQ(occurrences(path, R"("name":"spawn_blocking")"), 2u);  // its begin and end
  std::remove(path.c_str());
}

TEST(rt_trace, slices_say_what_the_task_then_waited_on) {
  std::string path = temp_path("waits");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      channel<int> ch(1);
      semaphore permits(0);
      event ready;
      auto p = net::unix_stream::pair();
      CO_ASSERT_TRUE(p.has_value());
      auto& a = p->first;
      auto& b = p->second;
      // Each await below really suspends: what would end it comes from "helper", a moment later.
      auto waiter = spawn("waiter", [&]() -> task<void> {
        co_await sleep_for(std::chrono::milliseconds(1));
        (void)co_await ch.receive();
        (void)co_await permits.acquire();
        (void)co_await ready.wait();
        co_await spawn([]() -> task<void> { co_await sleep_for(std::chrono::milliseconds(1)); });
        {
          task_group g;
          g.spawn([]() -> task<void> { co_await sleep_for(std::chrono::milliseconds(1)); });
          co_await g.join();
        }
        (void)co_await spawn_blocking([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
        (void)co_await offload([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
        co_await parallel_for_async(0, 4, [](std::size_t) { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
        co_await yield_now();
        char buf[8];
        (void)co_await b.read_some(std::span<char>(buf));
      });
      auto helper = spawn("helper", [&]() -> task<void> {
        auto pause = [] { return sleep_for(std::chrono::milliseconds(5)); };
        co_await pause();
        (void)co_await ch.send(1);
        co_await pause();
        permits.release();
        co_await pause();
        ready.set();
        co_await sleep_for(std::chrono::milliseconds(200));  // past the joins and the pools
        (void)co_await a.write_all("x");
      });
      co_await std::move(waiter);
      co_await std::move(helper);
      // when_all: its children start inside the parent's slice, which then waits on them.
      co_await spawn("fan", []() -> task<void> {
        auto nap = []() -> task<void> { (void)co_await sleep_for(std::chrono::milliseconds(1)); };
        co_await when_all(nap(), nap());
      });
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  EXPECT_NE(summary.find(R"("waits": ["timer", "channel", "semaphore", "event", "join", "join", "blocking pool", )"
                         R"("compute pool", "compute pool", "yield", "readable", ""])"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find(R"("fan": {)"), std::string::npos) << summary;
  std::size_t fan = summary.find(R"("fan": {)");
  EXPECT_NE(summary.find(R"("waits": ["join")", fan), std::string::npos) << summary;
  std::remove(path.c_str());
}

TEST(rt_trace, signals_are_marked_where_the_loop_takes_them) {
  std::string path = temp_path("signal");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      signal_set usr1{SIGUSR1};  // listening from here on: a signal before the await is kept
      std::thread sender([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ::kill(::getpid(), SIGUSR1);
      });
      auto got = co_await usr1.next();
      sender.join();
      EXPECT_EQ(got.value_or(0), SIGUSR1);
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  EXPECT_NE(summary.find(R"("signal": 1)"), std::string::npos) << summary;
  EXPECT_EQ(occurrences(path, R"("name":"SIGUSR1")"), 1u);
  EXPECT_NE(summary.find(R"("waits": ["signal", ""])"), std::string::npos) << summary;
  std::remove(path.c_str());
}

TEST(rt_trace, parallel_for_chunks_are_slices_on_the_compute_threads) {
  std::string path = temp_path("parallel");
  std::atomic<int> done{0};
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([&done]() -> task<void> {
      co_await parallel_for_async(0, 64, [&done](std::size_t) {
        test::spin_for(std::chrono::microseconds(200));
        ++done;
      });
    }());
  }
  EXPECT_EQ(done.load(), 64);
  std::string summary = check(path);  // also: no two slices overlap on a compute track
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  // One slice per chunk (64 items: at most 32 chunks per compute thread, and at least two threads).
  EXPECT_NE(summary.find(R"("compute_slices": 64)"), std::string::npos) << summary;
  EXPECT_GE(occurrences(path, R"("name":"compute )"), 1u) << "the compute tracks are named";
  EXPECT_NE(summary.find(R"("waits": ["compute pool", ""])"), std::string::npos) << summary;
  std::remove(path.c_str());
}

// Steals are marked on the thief's track, one for each time it found tasks to take.
TEST(rt_trace, steals_are_marked_where_they_happen) {
  if (!test::multi_worker()) GTEST_SKIP() << "stealing needs several workers";
  std::string path = temp_path("steals");
  std::uint64_t steal_operations = 0;
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      std::vector<join_handle<void>> hs;
      for (int i = 0; i < 64; ++i) {
        hs.push_back(spawn([]() -> task<void> {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));  // holds its loop: the others take some
          co_return;
        }));
      }
      for (auto& h : hs) co_await std::move(h);
    }());
    steal_operations = rt.metrics().total().steal_operations;
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  EXPECT_GT(steal_operations, 0u);
  EXPECT_NE(summary.find(R"("steal": )" + std::to_string(steal_operations)), std::string::npos)
      << summary << " against " << steal_operations << " in the metrics";
  std::remove(path.c_str());
}

// Child processes are marked on the loop that started and reaped them.
TEST(rt_trace, child_processes_are_marked_at_spawn_and_exit) {
  std::string path = temp_path("process");
  {
    runtime_options o = test::options();
    o.trace_file = path;
    runtime rt(o);
    rt.block_on([]() -> task<void> {
      auto c = process::command("true").spawn();
      CO_ASSERT_TRUE(c.has_value());
      auto status = co_await c->wait();
      CO_ASSERT_TRUE(status.has_value());
      EXPECT_TRUE(status->success());
    }());
  }
  std::string summary = check(path);
  ASSERT_FALSE(summary.empty()) << "the trace breaks what a viewer needs";
  EXPECT_NE(summary.find(R"("process exit": 1)"), std::string::npos) << summary;
  EXPECT_NE(summary.find(R"("process spawn": 1)"), std::string::npos) << summary;
  EXPECT_EQ(occurrences(path, R"("program":"true")"), 1u);
  std::remove(path.c_str());
}
