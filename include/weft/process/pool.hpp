// Parallel work in processes: run a command per item, N at a time, and collect what each printed.
//
//     std::vector<weft::process::command> jobs;
//     for (auto& f : files) jobs.push_back(weft::process::command("gzip").arg("-k").arg(f));
//     weft::process::run_all_options options;
//     options.parallel = 4;
//     auto done = co_await weft::process::run_all(std::move(jobs), options);
//     for (auto& r : done) if (!r || !r->status.success()) ...
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "weft/error.hpp"
#include "weft/process/child.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::process {

struct run_all_options {
  /// Children running at once; 0: one per core.
  std::size_t parallel = 0;
  /// Each child's time limit (zero: none); past it the child is killed and its slot says `errc::timed_out`.
  clock::duration timeout_each = clock::duration::zero();
  /// Called on the awaiting task's loop as each command finishes (in completion order): its index and
  /// outcome. For progress output.
  std::function<void(std::size_t, const result<completed>&)> on_done;
};

/// Runs every command as command::output() does (stdout and stderr captured, stdin /dev/null), at most
/// `options.parallel` at a time, starting them in order. Returns each command's outcome at its index:
/// one that cannot start or times out holds its error, and the others go on. Cancelling the awaiting
/// task kills the children that are running and starts no more.
task<std::vector<result<completed>>> run_all(std::vector<command> commands, run_all_options options = {});

}  // namespace weft::process
