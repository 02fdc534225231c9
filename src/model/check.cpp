// check(): runs a model once per schedule the explorer hands out, until a run fails, the schedules
// within the preemption bound run out (exhaustive), or the budget does. A failing schedule is run
// once more, traced, to confirm that it replays the failure exactly.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "model/execution.hpp"
#include "model/explorer.hpp"
#include "model/fiber.hpp"
#include "weft/detail/model.hpp"

namespace weft::model {
namespace {

std::optional<std::chrono::steady_clock::time_point> deadline;  // of every check from now on

struct run_result {
  std::string failure;
  std::vector<std::string> trace;
};

run_result run_once(engine::explorer& search, engine::stack_pool& stacks, const model_fns& fns,
                    const options& opts, bool tracing) {
  run_result out;
  if (fns.setup) fns.setup();
  {
    engine::execution run(search, stacks, opts, tracing);
    run.run(fns.body);
    run.final_check(fns.final_check);
    out.failure = run.failure();
    out.trace = run.take_trace();
  }
  if (fns.teardown) fns.teardown();
  return out;
}

}  // namespace

unsigned default_preemption_bound() noexcept {
  const char* env = std::getenv("WEFT_MODEL_PREEMPTIONS");
  return env != nullptr && *env != '\0' ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : 3;
}

void set_time_budget(double seconds) {
  deadline = std::chrono::steady_clock::now() +
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

report check(std::string_view name, const model_fns& fns, options opts) {
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };

  report r;
  r.name = name;
  r.preemption_bound = opts.preemption_bound;
  if (const char* env = std::getenv("WEFT_MODEL_REPLAY"); opts.replay.empty() && env != nullptr) opts.replay = env;
  auto replay = engine::parse_schedule(opts.replay);
  if (!replay) {
    r.failed = true;
    r.failure = "not a schedule: '" + opts.replay + "'";
    return r;
  }
  bool replaying = !opts.replay.empty();
  double seconds = opts.max_seconds;
  if (deadline) seconds = std::min(seconds, std::chrono::duration<double>(*deadline - start).count());

  engine::stack_pool stacks;
  engine::explorer search(opts.preemption_bound, std::move(*replay), replaying);
  for (;;) {
    run_result run = run_once(search, stacks, fns, opts, replaying);
    ++r.interleavings;
    if (!run.failure.empty()) {
      r.failed = true;
      r.failure = std::move(run.failure);
      r.schedule = search.schedule();
      r.trace = std::move(run.trace);
      r.reproduced = replaying;
      break;
    }
    if (replaying) {
      r.note = "the replayed schedule passed";
      break;
    }
    if (!search.advance()) {
      r.exhaustive = true;
      break;
    }
    if (r.interleavings >= opts.max_interleavings || elapsed() >= seconds) break;
  }
  if (r.failed && !replaying) {
    engine::explorer again(opts.preemption_bound, *engine::parse_schedule(r.schedule), true);
    run_result rerun = run_once(again, stacks, fns, opts, true);
    r.reproduced = rerun.failure == r.failure;
    r.trace = std::move(rerun.trace);
  }
  r.seconds = elapsed();
  return r;
}

void require(bool ok, std::string_view what) noexcept {
  if (ok) return;
  if (engine::execution* e = engine::execution::current()) e->fail("requirement failed: " + std::string(what));
}

report expect_failure(report found, std::string_view expected, const std::function<report(options)>& rerun) {
  report r = found;
  r.failed = true;
  if (!found.failed) {
    r.failure = "expected a failure (" + std::string(expected) + ") but every interleaving passed";
    return r;
  }
  if (found.failure.find(expected) == std::string::npos) {
    r.failure = "expected a failure with '" + std::string(expected) + "', got: " + found.failure;
    return r;
  }
  options opts;
  opts.replay = found.schedule;
  report again = rerun(opts);
  if (!again.failed || again.failure != found.failure || again.interleavings != 1) {
    r.failure = "replaying " + found.schedule + " did not reproduce '" + found.failure + "': got '" +
                again.failure + "'";
    return r;
  }
  r.failed = false;
  r.seconds += again.seconds;
  r.note = "bug found, schedule replays it: " + found.failure;
  return r;
}

int thread::start(std::function<void()> fn) {
  engine::execution* e = engine::execution::active();
  if (e == nullptr) {
    std::fprintf(stderr, "weft::model::thread started outside a model's threads\n");
    std::abort();
  }
  return e->spawn(std::move(fn));
}

void thread::join() noexcept {
  if (engine::execution* e = engine::execution::active()) e->join(id_);
  id_ = -1;
}

thread::~thread() {
  if (joinable()) require(false, "a model::thread is destroyed without join() or detach()");
}

void yield_now() noexcept {
  if (engine::execution* e = engine::execution::active()) e->yield();
}

}  // namespace weft::model
