// The timeline trace: what each task did, when, and on which worker (runtime_options::trace_file,
// WEFT_TRACE=FILE). Written in the Chrome/Perfetto trace-event JSON format, which ui.perfetto.dev and
// chrome://tracing open:
// - one track per worker ("worker N"), holding its run slices: each resume of a task, named after it;
// - one async track per task, from its spawn to its end, which follows the task across workers;
// - each task's parent (the task that spawned it) in the track's arguments.
//
// How it is recorded:
// - Each worker has a recorder, touched by its own thread only: an event is 32 bytes appended to the
//   current chunk, no lock and no allocation per event. A full chunk (or one older than a moment, when
//   the loop is about to sleep) goes to the runtime's sink.
// - The sink's writer thread turns chunks into JSON and writes them, so the loops never wait on the
//   file. Chunks from different workers arrive in any order: a run slice may come before the spawn
//   that names its task, so the writer holds such events until the name arrives (or the trace ends).
// - The file is bounded (trace_max_bytes): past it, events are dropped, the JSON is still closed
//   properly, and its metadata says how many were dropped. So are events the writer cannot keep up
//   with: at most 64 chunks wait for it (8 MiB), so memory stays bounded.
// Spawns from a thread outside the runtime go through the sink, under its lock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace weft::detail::trace {

enum class kind : std::uint8_t { spawn, run, end, span };

struct event {
  std::uint64_t task;
  std::uint64_t at_ns;     // spawn, end: when; run, span: the start
  std::uint64_t more;      // spawn: the parent task (0: none); run, span: the end
  std::uint32_t name_at;   // spawn: where its name starts in the chunk's `names`; span: its label, a NUL,
  std::uint16_t name_len;  // and its arguments (JSON members); their length
  kind what;
};
static_assert(sizeof(event) == 32);

struct chunk {
  std::uint32_t worker = 0;  // the track; sink::foreign_track for spawns from outside the runtime
  std::chrono::steady_clock::time_point started;
  std::vector<event> events;
  std::string names;
};

/// How much of a task's name an event keeps (at most 65,535 bytes, on a UTF-8 boundary).
std::size_t name_limit(std::string_view name) noexcept;

class sink {
 public:
  static constexpr std::uint32_t foreign_track = 1000000;

  /// Opens `path` for `workers` workers; null (and a line on stderr) if the file cannot be created.
  static std::unique_ptr<sink> open(const std::string& path, std::size_t max_bytes, std::size_t workers);
  /// Writes what is left, closes the JSON and the file.
  ~sink();
  sink(const sink&) = delete;
  sink& operator=(const sink&) = delete;

  /// A task id, unique in this trace, from any thread.
  std::uint64_t new_task_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed) + 1; }
  /// Nanoseconds since the trace began.
  std::uint64_t now_ns() const noexcept { return ns_at(std::chrono::steady_clock::now()); }
  std::uint64_t ns_at(std::chrono::steady_clock::time_point t) const noexcept {
    return t <= origin_ ? 0 : static_cast<std::uint64_t>(std::chrono::nanoseconds(t - origin_).count());
  }
  /// Hands a chunk to the writer; returns an empty one to fill next.
  std::unique_ptr<chunk> exchange(std::unique_ptr<chunk> full);
  /// A spawn from a thread that is not one of the runtime's loops.
  void foreign_spawn(std::uint64_t task, std::uint64_t parent, std::string_view name);

 private:
  sink(std::FILE* f, std::size_t max_bytes, std::size_t workers);
  void write_loop();
  void write_chunk(const chunk& c);
  void write_event(const std::string& json);
  void write_run(std::uint32_t track, const event& e, std::string_view name);
  void write_end(std::uint32_t track, const event& e, std::string_view name);
  void write_span(std::uint32_t track, const event& e, std::string_view text);

  std::FILE* file_;
  std::size_t max_bytes_;
  std::chrono::steady_clock::time_point origin_;
  std::atomic<std::uint64_t> next_id_{0};

  std::mutex lock_;  // guards the queues below
  std::condition_variable ready_;
  std::deque<std::unique_ptr<chunk>> full_;
  std::vector<std::unique_ptr<chunk>> spare_;
  bool closing_ = false;
  std::size_t queue_dropped_ = 0;  // events in chunks refused because the writer was behind
  static constexpr std::size_t max_queued = 64;  // chunks waiting for the writer: 8 MiB of events

  // The writer thread's own.
  std::unordered_map<std::uint64_t, std::string> names_;
  struct waiting {
    std::uint32_t track;
    event e;
  };
  std::unordered_map<std::uint64_t, std::vector<waiting>> unnamed_;  // events that came before their spawn
  std::size_t held_ = 0;  // events in unnamed_
  std::size_t written_ = 0;
  std::size_t dropped_ = 0;
  bool first_ = true;
  std::thread writer_;
};

/// A worker's recorder: its thread only.
class recorder {
 public:
  recorder(sink& s, std::uint32_t worker);
  /// Hands the last chunk to the sink.
  ~recorder();
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;

  sink& owner() noexcept { return sink_; }
  void spawned(std::uint64_t task, std::uint64_t parent, std::string_view name);
  void ran(std::uint64_t task, std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end) {
    append({task, sink_.ns_at(start), sink_.ns_at(end), 0, 0, kind::run});
  }
  void ended(std::uint64_t task) { append({task, sink_.now_ns(), 0, 0, 0, kind::end}); }
  /// A span of work inside task `task` (an HTTP request, say), drawn nested in the task's track, from
  /// `start` to `end`: `label` names it, `args` are JSON object members for its details
  /// ("\"status\":200,..."; may be empty).
  void span(std::uint64_t task, std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end,
            std::string_view label, std::string_view args);
  /// The loop is about to sleep for `timeout_ms` (-1: until woken): the chunk goes to the writer now if
  /// the sleep may be long or the chunk has waited a while, so that a quiet worker's spawns do not hold
  /// back the names other workers' events wait for.
  void idle(int timeout_ms);

  static constexpr std::size_t chunk_events = 4096;

 private:
  void append(const event& e) {
    current_->events.push_back(e);
    if (current_->events.size() == chunk_events) hand_over();
  }
  void hand_over();

  sink& sink_;
  std::uint32_t worker_;
  std::unique_ptr<chunk> current_;
};

}  // namespace weft::detail::trace
