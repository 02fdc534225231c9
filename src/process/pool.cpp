#include "weft/process/pool.hpp"

#include <thread>

#include "weft/when_all.hpp"

namespace weft::process {
namespace {

struct pool_run {
  std::vector<command> commands;
  run_all_options options;
  std::vector<result<completed>> results;
  std::size_t next = 0;  // the runners share one loop: no atomics needed
};

/// Takes the next command until none is left or the task is cancelled.
task<void> runner(pool_run& run) {
  while (run.next < run.commands.size()) {
    std::size_t i = run.next++;
    auto r = co_await run.commands[i].output(run.options.timeout_each);
    bool cancelled = !r && r.error() == errc::operation_canceled;
    run.results[i] = std::move(r);
    if (run.options.on_done) run.options.on_done(i, run.results[i]);
    if (cancelled) co_return;
  }
}

}  // namespace

task<std::vector<result<completed>>> run_all(std::vector<command> commands, run_all_options options) {
  pool_run run{std::move(commands), std::move(options), {}, 0};
  run.results.assign(run.commands.size(), fail(errc::operation_canceled));  // what never ran says so
  std::size_t n = run.options.parallel != 0 ? run.options.parallel : std::max(1u, std::thread::hardware_concurrency());
  n = std::min(n, run.commands.size());
  std::vector<task<void>> runners;
  runners.reserve(n);
  for (std::size_t i = 0; i < n; ++i) runners.push_back(runner(run));
  co_await when_all(std::move(runners));
  co_return std::move(run.results);
}

}  // namespace weft::process
