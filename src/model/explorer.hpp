// The search over schedules: which thread runs at each scheduling point of a run.
//
// A run is a sequence of decisions, one per scheduling point: the set of threads that could run, the
// thread that stopped there (`current`), whether it could go on, and the thread chosen. Choosing another
// thread while the current one could go on is a preemption; switching away from a thread that blocked,
// finished or yielded is not. The explorer keeps the decisions of the run in progress as a stack and
// searches depth first: a new decision point takes the default choice (the current thread if it can go
// on, else the lowest-numbered enabled one); after a run, advance() moves the deepest decision with an
// untried choice that keeps the run within `bound` preemptions to that choice and drops the decisions
// below it. Every schedule with at most `bound` preemptions runs exactly once (for a deterministic
// model), which is CHESS's iterative context bounding at one fixed bound.
//
// Schedules as text: the chosen thread of every decision, dot-separated, with runs of one thread as
// `t*n` ("0*4.1.1.0" is 0.0.0.0.1.1.0); "-" is a run without decisions. Replaying one takes its choices
// in order, then defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::model::engine {

std::string format_schedule(const std::vector<std::uint8_t>& choices);
std::optional<std::vector<std::uint8_t>> parse_schedule(std::string_view text);

class explorer {
 public:
  /// Explores every schedule within `bound` preemptions, or if `replaying`, runs `replay` only.
  explorer(unsigned bound, std::vector<std::uint8_t> replay, bool replaying);

  /// Starts a run: the next one advance() chose (or the first).
  void begin_run() noexcept { depth_ = 0; }
  /// At a scheduling point: the thread to run among `enabled` (bit t: thread t can run); -1 with
  /// error() set when a replayed schedule does not fit the run.
  int choose(std::uint32_t enabled, int current, bool current_enabled);
  /// Moves to the next unexplored schedule; false when there is none (or when replaying).
  bool advance();

  /// The choices of the run in progress, as text.
  std::string schedule() const;
  const std::string& error() const noexcept { return error_; }

 private:
  struct decision {
    std::uint32_t enabled;
    std::uint32_t tried;  // choices explored here, the current one included
    std::int8_t current;
    std::int8_t chosen;
    bool current_enabled;
    std::uint16_t preemptions;  // in the run up to and including this decision
    bool preempts(int choice) const noexcept { return current_enabled && choice != current; }
  };

  unsigned bound_;
  std::vector<std::uint8_t> replay_;
  bool replaying_;
  std::vector<decision> path_;  // the run's decisions; below depth_: those of the run in progress
  std::size_t depth_ = 0;
  std::string error_;
};

}  // namespace weft::model::engine
