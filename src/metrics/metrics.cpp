// The histogram's arithmetic and the Prometheus text exposition format (version 0.0.4) of runtime
// metrics. Durations are written in seconds, as Prometheus's conventions ask.
#include "weft/metrics.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <limits>

namespace weft {

std::uint64_t duration_histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::uint64_t c : counts) n += c;
  return n;
}

std::chrono::nanoseconds duration_histogram::upper_bound(std::size_t i) noexcept {
  if (i + 1 >= buckets) return std::chrono::nanoseconds::max();
  return std::chrono::microseconds(std::int64_t{1} << i);
}

std::size_t duration_histogram::bucket_of(std::chrono::nanoseconds d) noexcept {
  std::uint64_t us = d.count() <= 0 ? 0 : static_cast<std::uint64_t>(d.count()) / 1000;
  return std::min<std::size_t>(static_cast<std::size_t>(std::bit_width(us)), buckets - 1);
}

std::chrono::nanoseconds duration_histogram::quantile(double q) const noexcept {
  std::uint64_t total = count();
  if (total == 0) return std::chrono::nanoseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the q-quantile, 1-based: at least the first value.
  auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.5));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    seen += counts[i];
    if (seen >= rank) return upper_bound(i);
  }
  return upper_bound(buckets - 1);
}

void duration_histogram::merge(const duration_histogram& other) noexcept {
  for (std::size_t i = 0; i < buckets; ++i) counts[i] += other.counts[i];
  sum += other.sum;
}

worker_metrics runtime_metrics::total() const noexcept {
  worker_metrics t;
  for (const worker_metrics& w : workers) {
    t.polls += w.polls;
    t.busy_time += w.busy_time;
    t.idle_time += w.idle_time;
    t.parks += w.parks;
    t.steals += w.steals;
    t.steal_operations += w.steal_operations;
    t.remote_schedules += w.remote_schedules;
    t.io_events += w.io_events;
    t.coop_yields += w.coop_yields;
    t.local_queue_depth += w.local_queue_depth;
    t.timers_armed += w.timers_armed;
  }
  return t;
}

namespace {

void append_seconds(std::string& out, std::chrono::nanoseconds d) {
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(d.count()) / 1e9);
  out.append(buf, static_cast<std::size_t>(n));
}

void append_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

/// One family with a single series.
void append_single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                   std::uint64_t value) {
  append_header(out, name, type, help);
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

/// One family with a series per worker, `field` giving each worker's value as a string.
template <class Field>
void append_per_worker(std::string& out, const runtime_metrics& m, std::string_view name, std::string_view type,
                       std::string_view help, Field field) {
  append_header(out, name, type, help);
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    out.append(name).append("{worker=\"").append(std::to_string(i)).append("\"} ");
    field(m.workers[i]);
    out.append("\n");
  }
}

}  // namespace

void append_prometheus_histogram(std::string& out, std::string_view name, std::string_view help,
                                 const duration_histogram& h, std::string_view labels, bool header) {
  if (header) append_header(out, name, "histogram", help);
  std::string sep = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i + 1 < duration_histogram::buckets; ++i) {
    cumulative += h.counts[i];
    out.append(name).append("_bucket{").append(sep).append("le=\"");
    append_seconds(out, duration_histogram::upper_bound(i));
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  cumulative += h.counts[duration_histogram::buckets - 1];
  out.append(name).append("_bucket{").append(sep).append("le=\"+Inf\"} ").append(std::to_string(cumulative)).append("\n");
  std::string braces = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
  out.append(name).append("_sum").append(braces).append(" ");
  append_seconds(out, h.sum);
  out.append("\n");
  out.append(name).append("_count").append(braces).append(" ").append(std::to_string(cumulative)).append("\n");
}

void append_prometheus(std::string& out, const runtime_metrics& m) {
  auto count = [&out](std::uint64_t v) { out.append(std::to_string(v)); };
  append_single(out, "weft_runtime_workers", "gauge", "Event loops (workers) of the runtime.", m.workers.size());
  append_single(out, "weft_runtime_tasks_alive", "gauge", "Spawned tasks that have not finished.", m.tasks_alive);
  append_single(out, "weft_runtime_tasks_spawned_total", "counter", "Tasks spawned since the runtime started.",
                m.tasks_spawned);
  append_single(out, "weft_runtime_injected_queue_depth", "gauge",
                "Tasks spawned from outside the runtime that no worker has taken yet.", m.injected_queue_depth);
  append_single(out, "weft_runtime_blocking_threads", "gauge", "Threads of the blocking pool.", m.blocking_threads);
  append_single(out, "weft_runtime_blocking_idle_threads", "gauge", "Idle threads of the blocking pool.",
                m.blocking_idle_threads);
  append_single(out, "weft_runtime_blocking_queue_depth", "gauge", "Blocking jobs waiting for a thread.",
                m.blocking_queue_depth);
  append_single(out, "weft_runtime_blocking_jobs_total", "counter", "Blocking jobs submitted.", m.blocking_jobs);
  append_per_worker(out, m, "weft_runtime_polls_total", "counter", "Task resumes on each worker.",
                    [&](const worker_metrics& w) { count(w.polls); });
  append_per_worker(out, m, "weft_runtime_busy_seconds_total", "counter", "Time each worker spent running its loop, not sleeping.",
                    [&](const worker_metrics& w) { append_seconds(out, w.busy_time); });
  append_per_worker(out, m, "weft_runtime_idle_seconds_total", "counter", "Time each worker slept waiting for work.",
                    [&](const worker_metrics& w) { append_seconds(out, w.idle_time); });
  append_per_worker(out, m, "weft_runtime_parks_total", "counter", "Times each worker went to sleep.",
                    [&](const worker_metrics& w) { count(w.parks); });
  append_per_worker(out, m, "weft_runtime_steals_total", "counter", "Tasks each worker stole from others.",
                    [&](const worker_metrics& w) { count(w.steals); });
  append_per_worker(out, m, "weft_runtime_remote_schedules_total", "counter",
                    "Wake-ups and starts handed to each worker by other threads.",
                    [&](const worker_metrics& w) { count(w.remote_schedules); });
  append_per_worker(out, m, "weft_runtime_io_events_total", "counter", "I/O readiness events each worker delivered.",
                    [&](const worker_metrics& w) { count(w.io_events); });
  append_per_worker(out, m, "weft_runtime_coop_yields_total", "counter",
                    "Tasks sent to the back of the run queue after many await points in a row completed at once.",
                    [&](const worker_metrics& w) { count(w.coop_yields); });
  append_per_worker(out, m, "weft_runtime_local_queue_depth", "gauge", "Tasks ready or not yet started on each worker.",
                    [&](const worker_metrics& w) { count(w.local_queue_depth); });
  append_per_worker(out, m, "weft_runtime_timers_armed", "gauge", "Timers armed on each worker.",
                    [&](const worker_metrics& w) { count(w.timers_armed); });
  if (m.poll_times_recorded) {
    append_prometheus_histogram(out, "weft_runtime_poll_seconds", "How long each task resume held its loop.",
                                m.poll_times);
  }
}

}  // namespace weft
