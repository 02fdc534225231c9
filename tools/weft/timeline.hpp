// The timeline page: weft's traces (Chrome/Perfetto trace-event JSON, as runtime_options::trace_file
// writes them) drawn as one self-contained HTML page, inline SVG and a few lines of script, no network.
// `weft trace view` draws any traces; `weft demo --timeline` draws the demo's, section by section.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::tool::timeline {

/// A trace file, read. Times are nanoseconds on the steady clock, `origin_ns` plus the file's own,
/// so that traces of several runtimes and processes share one axis (a file without an origin, from
/// another writer, starts at 0).
struct trace {
  struct run {        // one resume of a task: a bar on its worker's lane
    std::int64_t start, end;
    std::uint32_t lane;  // index into lanes
    std::uint64_t task;
    std::string name, woken_by, suspended_on;
  };
  struct span {       // an HTTP request, a phase of one, a blocking job: inside a task's life
    std::int64_t start, end;
    std::string name, args;
    int depth;
  };
  struct task {
    std::uint64_t id = 0, parent = 0;
    std::string name;
    std::int64_t start = 0, end = 0;
    std::vector<span> spans;
  };
  struct mark {       // an instant on a worker's lane: a steal, a process spawned or reaped
    std::int64_t at;
    std::uint32_t lane;
    std::string name, args;
  };
  struct wake {       // a flow arrow: task `waker` woke task `woken`
    std::int64_t from, to;
    std::uint64_t waker, woken;
  };

  std::string path;
  std::string label;  ///< what the page calls it; the file's name unless the caller sets one
  std::int64_t origin_ns = 0;
  long process_id = 0;
  std::vector<std::string> lanes;  ///< track names ("worker 0", ...), those with runs or marks
  std::vector<run> runs;
  std::vector<task> tasks;         ///< in order of their start
  std::vector<mark> marks;
  std::vector<wake> wakes;
  std::int64_t start = 0, end = 0;  ///< the extent of everything above
  std::size_t dropped_events = 0;
};

/// Reads a trace file; throws std::runtime_error with the reason (unreadable, not a trace).
trace read(const std::string& path);

/// Several traces on one time axis, from `start` to `end` (events outside are left out, bars cut).
/// A panel without traces draws `plain` instead: one bar over the whole window, for work that ran
/// without an event loop (plain blocking code on threads).
struct panel {
  std::string title;
  std::vector<const trace*> traces;
  std::int64_t start = 0, end = 0;
  std::string plain;
  bool task_rows = true;  ///< a row per task under the worker lanes (with its spans and wake arrows)
};

/// A heading, a line of text, and panels side by side, all on the scale of the longest.
struct row {
  std::string title, text;
  std::vector<panel> panels;
};

struct page {
  std::string title, text;
  std::vector<row> rows;
  std::size_t max_task_rows = 80;  ///< per trace in a panel; the rest are counted, not drawn
};

/// The whole HTML document.
std::string render(const page& p);

/// One panel per trace file, all on one axis: what `weft trace view` draws.
page view_of(const std::vector<trace>& traces, std::string title);

}  // namespace weft::tool::timeline
