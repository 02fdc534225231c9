// Runtime metrics: a snapshot of what a runtime's loops have done and hold, and its Prometheus text.
//
//     weft::runtime_metrics m = rt.metrics();          // from any thread, at any time
//     for (const auto& w : m.workers) std::printf("%llu polls, %.1f%% busy\n", ...);
//     std::string text;
//     weft::append_prometheus(text, m);                // the text exposition format, for GET /metrics
//
// The counters only grow (from the runtime's start); the depths and sizes are what they were at the
// snapshot. Each worker writes its own counters and nothing else does, so keeping them costs no
// locks and no shared cache lines: a counter is read from another thread as it was a moment ago,
// and one snapshot's counters may be a turn apart from each other.
//
// Poll times (how long each resume of a task held its loop) need two clock reads per resume, so they
// are recorded only when asked for (runtime_options::poll_time_histogram) or already paid for (the
// trace or the slow-task detector is on).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

/// Durations counted in power-of-two buckets of microseconds: bucket 0 holds those under 1 us, bucket
/// i (0 < i < buckets - 1) those in [2^(i-1), 2^i) us, and the last everything from 2^(buckets-2) us
/// (about 4.2 s) up.
struct duration_histogram {
  static constexpr std::size_t buckets = 24;
  std::array<std::uint64_t, buckets> counts{};
  /// The sum of every duration counted (for the mean, and Prometheus's _sum).
  std::chrono::nanoseconds sum{0};

  /// The number of durations counted.
  std::uint64_t count() const noexcept;
  /// Bucket i's upper bound (exclusive); the last bucket's is nanoseconds::max().
  static std::chrono::nanoseconds upper_bound(std::size_t i) noexcept;
  /// The bucket a duration falls in.
  static std::size_t bucket_of(std::chrono::nanoseconds d) noexcept;
  /// An upper estimate of the q-quantile (0 <= q <= 1): the upper bound of the bucket that holds it;
  /// zero when empty.
  std::chrono::nanoseconds quantile(double q) const noexcept;
  /// Adds another histogram's counts (summing workers or shards).
  void merge(const duration_histogram& other) noexcept;
};

/// One worker (event loop). Counters count from the runtime's start.
struct worker_metrics {
  /// Resumes of tasks by this loop. A task resumed straight from another's end (a joiner woken by the
  /// task it joined) runs within that task's poll and is not counted again.
  std::uint64_t polls = 0;
  /// Time in the loop's turns, minus the time it slept (with one loop: only inside block_on).
  std::chrono::nanoseconds busy_time{0};
  /// Time the loop slept waiting for I/O, timers or work.
  std::chrono::nanoseconds idle_time{0};
  /// How many times the loop went to sleep.
  std::uint64_t parks = 0;
  /// Not-yet-started tasks this worker took from others' queues, and the times it found some.
  std::uint64_t steals = 0;
  std::uint64_t steal_operations = 0;
  /// Wake-ups and starts handed to this loop by other threads (a task woken by another worker, a
  /// spawn from outside, a post).
  std::uint64_t remote_schedules = 0;
  /// I/O readiness events its reactor delivered.
  std::uint64_t io_events = 0;
  /// Times a task that had completed many await points in a row without waiting was sent to the back
  /// of the run queue, so that the loop's other work ran (the cooperative budget).
  std::uint64_t coop_yields = 0;
  /// Tasks ready to resume, and tasks spawned here that have not started (others may steal these),
  /// as of the loop's last turn.
  std::size_t local_queue_depth = 0;
  /// Timers armed on this loop (sleeps and deadlines), as of its last turn.
  std::size_t timers_armed = 0;
};

/// A runtime's snapshot (runtime::metrics()).
struct runtime_metrics {
  std::vector<worker_metrics> workers;
  /// Tasks spawned and not finished, and spawned since the start.
  std::size_t tasks_alive = 0;
  std::uint64_t tasks_spawned = 0;
  /// Tasks spawned from outside the runtime's threads (or spilled by a full worker queue) that no
  /// worker has taken yet.
  std::size_t injected_queue_depth = 0;
  /// The blocking pool (spawn_blocking): threads alive, of them idle, jobs waiting for a thread, and
  /// jobs submitted since the start.
  std::size_t blocking_threads = 0;
  std::size_t blocking_idle_threads = 0;
  std::size_t blocking_queue_depth = 0;
  std::uint64_t blocking_jobs = 0;
  /// How long each resume held its loop, all workers together; recorded only when
  /// `poll_times_recorded` (see the top of this header).
  bool poll_times_recorded = false;
  duration_histogram poll_times;

  /// Sums over the workers.
  worker_metrics total() const noexcept;
};

/// Appends `m` in the Prometheus text exposition format (version 0.0.4): weft_runtime_* families,
/// per-worker series labelled worker="N".
void append_prometheus(std::string& out, const runtime_metrics& m);

/// Appends one histogram family in the Prometheus text format, in seconds: `name`_bucket{le=...},
/// _sum and _count, with `labels` (say `shard="0"`, or empty) on every series. With `header`, the
/// # HELP and # TYPE lines come first (once per family).
void append_prometheus_histogram(std::string& out, std::string_view name, std::string_view help,
                                 const duration_histogram& h, std::string_view labels = {}, bool header = true);

}  // namespace weft
