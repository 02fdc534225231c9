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
// A flight recorder (sink::ring) records the same way but keeps only the newest chunks, recycling the
// oldest, and formats them only when dumped.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "weft/detail/atomic.hpp"
#include "weft/detail/suspend_reason.hpp"

namespace weft::detail::trace {

using detail::suspend_reason;

enum class kind : std::uint8_t { spawn, run, end, span, wake, instant };

/// What made a task ready to run again: the reason on its next run slice ("woken_by"). A wake by a task
/// is also drawn as an arrow from the waker's slice to the woken one's.
enum class wake_source : std::uint8_t { none, task, timer, io, thread, loop, yield };

struct event {
  std::uint64_t task;
  std::uint64_t at_ns;     // spawn, end: when; run, span: the start
  std::uint64_t more;      // spawn: the parent task (0: none); run, span: the end
  std::uint32_t name_at;   // spawn: where its name starts in the chunk's `names`; span, instant: its label, a NUL,
  std::uint16_t name_len;  // and its arguments (JSON members); their length. run, wake: the wake's
                           // number (name_at) and, on a run, its wake_source (name_len)
  kind what;
  suspend_reason why = suspend_reason::none;  // run: what the task waited on when the slice ended (none: it ended, or unnoted)
};
static_assert(sizeof(event) == 32);

struct chunk {
  std::uint32_t worker = 0;  // the track; sink::foreign_track for spawns from outside the runtime
  std::chrono::steady_clock::time_point started;
  std::vector<event> events;
  std::string names;
};

class recorder;

/// Appends `s` as a JSON string: quoted, escaped, bytes that are not UTF-8 as U+FFFD. For span and
/// mark arguments made of text from outside (a host name, a program).
void append_json_string(std::string& out, std::string_view s);

/// How much of a task's name an event keeps (at most 65,535 bytes, on a UTF-8 boundary).
std::size_t name_limit(std::string_view name) noexcept;

/// Formats chunks as trace-event JSON into a file: the streaming sink's writer thread, or a flight
/// recorder's dump. Used by one thread at a time.
class json_writer {
 public:
  /// Writes the document's head and the track names (`workers` worker tracks and the foreign one).
  /// `origin` is the steady-clock instant that event times count from: the closing `otherData` gives it,
  /// so that traces of several runtimes and processes can be laid on one time axis.
  json_writer(std::FILE* f, std::size_t max_bytes, std::size_t workers, std::chrono::steady_clock::time_point origin);
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  void write_chunk(const chunk& c);
  /// For a flight recorder's dump, which has all its chunks before it writes: only the arrows whose
  /// start is among them are drawn (the ring may have recycled the start of an arrow whose end it kept).
  void keep_only_arrows_in(const std::vector<chunk>& chunks);
  /// Writes the events still held (tasks whose spawn never came get a begin of their own, named by
  /// id), ends at `end_ns` the tasks still open, closes the JSON with the dropped count (its own plus
  /// `extra_dropped`) and closes the file.
  void close(std::uint64_t end_ns, std::size_t extra_dropped);

 private:
  void write_event(const std::string& json);
  void write_meta(const char* what, std::uint32_t tid, std::string_view name);
  void write_begin(std::uint32_t track, std::uint64_t task, std::uint64_t at_ns, std::uint64_t parent, std::string_view name);
  void write_run(std::uint32_t track, const event& e, std::string_view name);
  void write_end(std::uint32_t track, const event& e, std::string_view name);
  void write_span(std::uint32_t track, const event& e, std::string_view text);
  void write_wake(std::uint32_t track, const event& e);
  void write_instant(std::uint32_t track, const event& e, std::string_view text);
  void write_named(std::uint32_t track, const event& e, std::string_view name, std::string_view text);

  std::FILE* file_;
  std::size_t max_bytes_;
  std::chrono::steady_clock::time_point origin_;
  std::unordered_map<std::uint64_t, std::string> names_;
  struct waiting {
    std::uint32_t track;
    event e;
    std::string text;  // a span's label and arguments
  };
  std::unordered_map<std::uint64_t, std::vector<waiting>> unnamed_;  // events that came before their spawn
  std::size_t held_ = 0;  // events in unnamed_
  std::unordered_set<std::uint32_t> named_compute_;  // compute tracks named so far
  bool arrows_filtered_ = false;
  std::unordered_set<std::uint64_t> arrows_;  // (woken task << 32) | arrow id, when filtered
  std::size_t written_ = 0;
  std::size_t dropped_ = 0;
  bool first_ = true;
};

/// Where the recorders' chunks go. Two kinds:
/// - a trace file (open): a writer thread formats chunks as they come and streams them to the file;
/// - a flight recorder (ring): the most recent chunks stay in memory, the oldest recycled as new ones
///   come, until dump() writes them to a file on demand.
class sink {
 public:
  static constexpr std::uint32_t foreign_track = 1000000;
  static constexpr std::uint32_t compute_track = 2000000;  // + the compute thread's index

  /// Opens `path` for `workers` workers; null (and a line on stderr) if the file cannot be created.
  static std::unique_ptr<sink> open(const std::string& path, std::size_t max_bytes, std::size_t workers);
  /// A flight recorder that keeps at least the `events` most recent events (and at most a chunk more).
  static std::unique_ptr<sink> ring(std::size_t events, std::size_t workers);
  /// A trace file: writes what is left, closes the JSON and the file.
  ~sink();
  sink(const sink&) = delete;
  sink& operator=(const sink&) = delete;

  bool is_ring() const noexcept { return ring_events_ != 0; }
  /// A task id, unique in this trace, from any thread.
  std::uint64_t new_task_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed) + 1; }
  /// Nanoseconds since the trace began.
  std::uint64_t now_ns() const noexcept { return ns_at(std::chrono::steady_clock::now()); }
  std::uint64_t ns_at(std::chrono::steady_clock::time_point t) const noexcept {
    return t <= origin_ ? 0 : static_cast<std::uint64_t>(std::chrono::nanoseconds(t - origin_).count());
  }
  /// Hands a chunk to the writer (or the ring); returns an empty one to fill next.
  std::unique_ptr<chunk> exchange(std::unique_ptr<chunk> full);
  /// A spawn from a thread that is not one of the runtime's loops.
  void foreign_spawn(std::uint64_t task, std::uint64_t parent, std::string_view name);
  /// The chunks of a parallel_for that `task` awaited, as run slices of that task on the tracks of the
  /// compute threads that ran them ("compute N"), which have no recorder of their own. Any thread.
  struct timed_run {
    std::int64_t start, end;  // steady-clock ns
    std::uint32_t thread;     // the compute thread's index
  };
  void compute_slices(std::uint64_t task, const std::vector<timed_run>& runs);

  /// Flight recorder: asks every loop to hand over its current chunk (`wake_loops`, set by the runtime,
  /// makes sleeping loops look), waits for them up to `patience`, and writes what the ring holds to
  /// `path`. `self`: the calling loop's recorder, handed over at once (a loop cannot answer itself
  /// while it waits here). Any thread; one dump at a time. False if the file cannot be written.
  bool dump(const std::string& path, recorder* self, std::chrono::milliseconds patience);
  /// For dump(): wakes every loop (they look at flush_epoch() each turn).
  void set_wake_loops(std::function<void()> wake) { wake_loops_ = std::move(wake); }
  std::uint64_t flush_epoch() const noexcept { return flush_epoch_.load(std::memory_order_acquire); }
  /// A loop handed over its chunk for a dump.
  void flushed() noexcept { flush_acks_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  sink(std::FILE* f, std::size_t max_bytes, std::size_t workers, std::size_t ring_events);
  /// A ring: recycles the oldest chunks while the others hold ring_events_ without them (lock_ held).
  std::unique_ptr<chunk> trim_ring();
  void write_loop();

  std::size_t workers_;
  std::size_t ring_events_;  // nonzero: a flight recorder of (at least) this many events
  std::size_t ring_held_ = 0;  // events in full_, for a ring
  std::unique_ptr<json_writer> out_;  // a trace file's, used by its writer thread
  std::chrono::steady_clock::time_point origin_;
  weft::detail::atomic<std::uint64_t> next_id_{0};

  weft::detail::mutex lock_;  // guards the queues below
  weft::detail::condition_variable ready_;
  std::deque<std::unique_ptr<chunk>> full_;  // a trace file: waiting for the writer; a ring: the recent ones
  std::vector<std::unique_ptr<chunk>> spare_;
  bool closing_ = false;
  std::size_t queue_dropped_ = 0;  // events in chunks refused because the writer was behind (or overwritten)
  static constexpr std::size_t max_queued = 64;  // chunks waiting for the writer: 8 MiB of events

  weft::detail::mutex dump_lock_;  // one dump at a time
  std::function<void()> wake_loops_;
  weft::detail::atomic<std::uint64_t> flush_epoch_{0};
  weft::detail::atomic<std::size_t> flush_acks_{0};
  weft::detail::thread writer_;
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
  /// A run slice; `wake_seq` and `source`: what woke it (none for a slice that continues one split by
  /// a nested resume); `why`: what it then waited on.
  void ran(std::uint64_t task, std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end,
           std::uint32_t wake_seq = 0, wake_source source = wake_source::none, suspend_reason why = suspend_reason::none) {
    append({task, sink_.ns_at(start), sink_.ns_at(end), wake_seq, static_cast<std::uint16_t>(source), kind::run, why});
  }
  /// Something that happened on this loop at one moment, drawn on its track (a steal, a signal):
  /// `label` names it, `args` are JSON object members (may be empty).
  void instant(std::string_view label, std::string_view args);
  /// Task `waker` (running on this loop) woke task `task`; returns the arrow's id, for the woken
  /// task's next slice to end it (unique among the arrows in flight: this loop's count and its index).
  std::uint32_t woke(std::uint64_t task, std::uint64_t waker) {
    std::uint32_t arrow = (++arrows_ << 8) | (worker_ & 0xff);
    append({task, sink_.now_ns(), waker, arrow, 0, kind::wake});
    return arrow;
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
  /// Once a turn: hands the chunk over if a flight-recorder dump asked for it.
  void poll_flush() {
    if (std::uint64_t e = sink_.flush_epoch(); e != flush_seen_) [[unlikely]] {
      flush_seen_ = e;
      hand_over();
      sink_.flushed();
    }
  }
  /// Hands the current chunk to the sink now (its events become visible to a dump).
  void hand_over();

  static constexpr std::size_t chunk_events = 4096;

 private:
  /// A span or an instant: `e` with its label, a NUL and its arguments in the chunk's `names`.
  void append_labelled(event e, std::string_view label, std::string_view args);
  void append(const event& e) {
    current_->events.push_back(e);
    if (current_->events.size() == chunk_events) hand_over();
  }

  sink& sink_;
  std::uint32_t worker_;
  std::uint64_t flush_seen_ = 0;
  std::uint32_t arrows_ = 0;
  std::unique_ptr<chunk> current_;
};

}  // namespace weft::detail::trace
