// runtime::metrics(): each counter moves when, and only when, what it counts happens; snapshots from
// another thread while the loops run are safe (TSan); the Prometheus text is well formed.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

using test::spin_for;

TEST(rt_metrics, histogram_buckets_are_powers_of_two_microseconds) {
  using h = duration_histogram;
  EXPECT_EQ(h::bucket_of(0ns), 0u);
  EXPECT_EQ(h::bucket_of(999ns), 0u);
  EXPECT_EQ(h::bucket_of(1us), 1u);
  EXPECT_EQ(h::bucket_of(1999ns), 1u);
  EXPECT_EQ(h::bucket_of(2us), 2u);
  EXPECT_EQ(h::bucket_of(1ms), 10u);  // 1000 us: [512, 1024)
  EXPECT_EQ(h::bucket_of(-5ns), 0u);
  EXPECT_EQ(h::bucket_of(1h), h::buckets - 1);
  EXPECT_EQ(h::upper_bound(0), 1us);
  EXPECT_EQ(h::upper_bound(10), 1024us);
  EXPECT_EQ(h::upper_bound(h::buckets - 1), std::chrono::nanoseconds::max());
  for (std::size_t i = 0; i + 1 < h::buckets; ++i) {
    EXPECT_EQ(h::bucket_of(h::upper_bound(i) - 1ns), i);
    EXPECT_EQ(h::bucket_of(h::upper_bound(i)), i + 1);
  }
  h x;
  EXPECT_EQ(x.quantile(0.5), 0ns);
  x.counts[0] = 90;
  x.counts[10] = 9;
  x.counts[20] = 1;
  EXPECT_EQ(x.count(), 100u);
  EXPECT_EQ(x.quantile(0.5), 1us);
  EXPECT_EQ(x.quantile(0.95), 1024us);
  EXPECT_EQ(x.quantile(1.0), h::upper_bound(20));
  h y = x;
  y.merge(x);
  EXPECT_EQ(y.count(), 200u);
}

TEST(rt_metrics, polls_and_spawns_count_every_resume_and_task) {
  runtime rt(test::options());
  runtime_metrics before = rt.metrics();
  EXPECT_EQ(before.workers.size(), rt.workers());
  EXPECT_EQ(before.tasks_spawned, 0u);
  EXPECT_EQ(before.total().polls, 0u);
  constexpr int tasks = 50;
  constexpr int yields = 10;
  rt.block_on([]() -> task<void> {
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < tasks; ++i) {
      hs.push_back(spawn([]() -> task<void> {
        for (int k = 0; k < yields; ++k) co_await yield_now();
      }));
    }
    for (auto& h : hs) co_await std::move(h);
  }());
  runtime_metrics m = rt.metrics();
  EXPECT_EQ(m.tasks_spawned, tasks + 1u);  // and block_on's own
  EXPECT_EQ(test::settled_live_tasks(rt), 0u);
  // Each task: its first resume and one per yield. The main task: at least its first (a joiner that
  // its last child resumes straight from its end runs inside that child's poll).
  EXPECT_GE(m.total().polls, tasks * (yields + 1u) + 1u);
  // Not wildly more: a join resumes its joiner once, and nothing else runs.
  EXPECT_LE(m.total().polls, tasks * (yields + 1u) + 2u * tasks + 10u);
  EXPECT_FALSE(m.poll_times_recorded);
  EXPECT_EQ(m.poll_times.count(), 0u);
}

TEST(rt_metrics, idle_and_busy_time_follow_what_the_loop_did) {
  runtime rt(test::options());
  rt.block_on([]() -> task<void> {
    co_await sleep_for(60ms);  // the loop sleeps
    spin_for(40ms);            // the loop is busy
  }());
  worker_metrics t = rt.metrics().total();
  EXPECT_GE(t.idle_time, 50ms);
  EXPECT_GE(t.busy_time, 35ms);
  EXPECT_GE(t.parks, 1u);
  if (!test::multi_worker()) {
    // One loop: time only inside block_on, so the two add up to about its length.
    EXPECT_LE(t.busy_time + t.idle_time, 5s);
  }
}

TEST(rt_metrics, timers_and_io_are_counted_on_their_loop) {
  runtime rt(test::options());
  rt.block_on([&rt]() -> task<void> {
    std::vector<join_handle<void>> sleepers;
    for (int i = 0; i < 10; ++i) sleepers.push_back(spawn([]() -> task<void> { co_await sleep_for(1h); }));
    co_await sleep_for(5ms);  // each loop polls (and writes down its timers) at least once meanwhile
    co_await sleep_for(5ms);
    EXPECT_GE(rt.metrics().total().timers_armed, 10u);
    for (auto& s : sleepers) {
      s.cancel();
      s.detach();
    }

    auto p = net::unix_stream::pair();
    CO_ASSERT_TRUE(p.has_value());
    auto& a = p->first;
    auto& b = p->second;
    std::uint64_t io_before = rt.metrics().total().io_events;
    auto reader = spawn([&b]() -> task<std::size_t> {
      char buf[16];
      auto n = co_await b.read_some(std::span<char>(buf));
      co_return n ? *n : 0;
    });
    co_await sleep_for(5ms);  // the reader waits for readability
    (void)co_await a.write_all("ping");
    EXPECT_EQ(co_await std::move(reader), 4u);
    EXPECT_GT(rt.metrics().total().io_events, io_before);
  }());
}

TEST(rt_metrics, blocking_pool_threads_and_jobs) {
  runtime rt(test::options());
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  rt.block_on([&]() -> task<void> {
    auto job = [&] {
      ++started;
      while (!release) std::this_thread::sleep_for(1ms);
    };
    auto one = spawn([&]() -> task<void> { co_await spawn_blocking(job); });
    auto two = spawn([&]() -> task<void> { co_await spawn_blocking(job); });
    while (started < 2) co_await sleep_for(1ms);
    runtime_metrics m = rt.metrics();
    EXPECT_EQ(m.blocking_jobs, 2u);
    EXPECT_EQ(m.blocking_threads, 2u);
    EXPECT_EQ(m.blocking_idle_threads, 0u);
    EXPECT_EQ(m.blocking_queue_depth, 0u);
    release = true;
    co_await std::move(one);
    co_await std::move(two);
  }());
  EXPECT_EQ(rt.metrics().blocking_jobs, 2u);
}

TEST(rt_metrics, steals_are_counted_when_idle_workers_take_work) {
  if (!test::multi_worker()) GTEST_SKIP() << "stealing needs several workers";
  runtime rt(test::options());
  rt.block_on([]() -> task<void> {
    // 64 tasks spawned on one worker, each blocking it for 1 ms: the other workers, idle, take some.
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < 64; ++i) hs.push_back(spawn([]() -> task<void> {
      std::this_thread::sleep_for(1ms);
      co_return;
    }));
    for (auto& h : hs) co_await std::move(h);
  }());
  worker_metrics t = rt.metrics().total();
  EXPECT_GT(t.steals, 0u);
  EXPECT_GE(t.steals, t.steal_operations);
  EXPECT_GT(t.steal_operations, 0u);
}

TEST(rt_metrics, poll_times_are_recorded_when_asked) {
  runtime_options o = test::options();
  o.poll_time_histogram = true;
  runtime rt(o);
  rt.block_on([]() -> task<void> {
    auto slow = spawn([]() -> task<void> {
      spin_for(3ms);  // one resume of 3 ms: bucket [2048, 4096) us
      co_return;
    });
    co_await std::move(slow);
    for (int i = 0; i < 100; ++i) co_await yield_now();
  }());
  // On several workers, the resume that ended block_on's task may still be writing itself down.
  runtime_metrics m = rt.metrics();
  for (int i = 0; i < 2000 && m.poll_times.count() != m.total().polls; ++i) {
    std::this_thread::sleep_for(1ms);
    m = rt.metrics();
  }
  EXPECT_TRUE(m.poll_times_recorded);
  EXPECT_EQ(m.poll_times.count(), m.total().polls);
  // The 3 ms resume in its bucket or a later one: a thread descheduled while it spins (sanitizers,
  // four workers on two cores) takes longer than it asked.
  std::uint64_t long_ones = 0;
  for (std::size_t b = duration_histogram::bucket_of(3ms); b < m.poll_times.counts.size(); ++b) {
    long_ones += m.poll_times.counts[b];
  }
  EXPECT_GE(long_ones, 1u);
  EXPECT_GE(m.poll_times.sum, 3ms);
  EXPECT_LE(m.poll_times.quantile(0.5), 1ms);  // the yields are short
}

// Snapshots from another thread while every worker runs: TSan checks that nothing here is a race.
TEST(rt_metrics, snapshots_from_another_thread_while_the_loops_run) {
  runtime rt(test::options());
  std::atomic<bool> done{false};
  std::uint64_t last_polls = 0;
  std::chrono::nanoseconds last_busy{0};
  std::chrono::nanoseconds last_idle{0};
  bool monotonic = true;
  std::thread reader([&] {
    while (!done) {
      runtime_metrics m = rt.metrics();
      worker_metrics t = m.total();
      // Counters only grow: Prometheus reads a step back as a restart. Busy time is derived (run time
      // less sleep), so this holds only if each worker's fields are read from one moment.
      if (t.polls < last_polls || t.busy_time < last_busy || t.idle_time < last_idle) monotonic = false;
      last_polls = t.polls;
      last_busy = t.busy_time;
      last_idle = t.idle_time;
      std::string text;
      append_prometheus(text, m);
      std::this_thread::sleep_for(100us);
    }
  });
  rt.block_on([]() -> task<void> {
    std::vector<join_handle<void>> hs;
    for (int i = 0; i < 200; ++i) {
      hs.push_back(spawn([]() -> task<void> {
        for (int k = 0; k < 50; ++k) {
          co_await yield_now();
          if (k % 10 == 0) co_await sleep_for(100us);
        }
      }));
    }
    for (auto& h : hs) co_await std::move(h);
  }());
  done = true;
  reader.join();
  EXPECT_TRUE(monotonic);
  EXPECT_GE(rt.metrics().total().polls, 200u * 51u);
}

// Every line is a comment (# HELP / # TYPE, each family once) or `name{labels} value`; each
// histogram's buckets grow with `le`, and its +Inf bucket equals its _count.
TEST(rt_metrics, prometheus_text_is_well_formed) {
  runtime_options o = test::options();
  o.poll_time_histogram = true;
  runtime rt(o);
  rt.block_on([]() -> task<void> {
    for (int i = 0; i < 10; ++i) co_await yield_now();
  }());
  // On several workers block_on returns as the last resume ends, and its worker records that resume's
  // time just after: wait for it (the count reached 10 of 11 once, in CI's 4-worker run).
  for (int i = 0; i < 1000 && rt.metrics().total().polls < 11; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::string text;
  append_prometheus(text, rt.metrics());
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (-?[0-9.eE+-]+|\+Inf)$)");
  std::regex comment(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$)");
  std::map<std::string, int> types;
  std::istringstream in(text);
  std::string line;
  double last_bucket = -1;
  double inf_bucket = -1;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, comment)) {
      if (m[1] == "TYPE") {
        EXPECT_EQ(++types[m[2]], 1) << "family typed twice: " << line;
      }
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
    std::string name = m[1];
    double value = std::stod(m[4]);
    if (name == "weft_runtime_poll_seconds_bucket") {
      EXPECT_GE(value, last_bucket) << line;
      last_bucket = value;
      if (line.find("le=\"+Inf\"") != std::string::npos) inf_bucket = value;
    }
    if (name == "weft_runtime_poll_seconds_count") {
      EXPECT_EQ(value, inf_bucket);
    }
    if (name == "weft_runtime_workers") {
      EXPECT_EQ(value, static_cast<double>(rt.workers()));
    }
  }
  EXPECT_GE(inf_bucket, 11);
  for (const char* family : {"weft_runtime_polls_total", "weft_runtime_busy_seconds_total", "weft_runtime_idle_seconds_total",
                             "weft_runtime_parks_total", "weft_runtime_steals_total", "weft_runtime_io_events_total",
                             "weft_runtime_local_queue_depth", "weft_runtime_timers_armed", "weft_runtime_tasks_alive",
                             "weft_runtime_tasks_spawned_total", "weft_runtime_blocking_threads",
                             "weft_runtime_blocking_queue_depth", "weft_runtime_injected_queue_depth",
                             "weft_runtime_poll_seconds"}) {
    EXPECT_EQ(types[family], 1) << family;
  }
}
