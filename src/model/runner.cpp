// The registry of model cases and the runner behind `make model`: one line per case (verdict,
// interleavings, time, what it shows), the failing schedule and trace of a failed one, then exactly
// one summary line, `models: N passed, M failed` (a check cut short by its budget is INCOMPLETE and
// counts as failed). WEFT_MODEL_VERBOSE=1 prints the trace of every bug
// a self-test found as well.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "weft/detail/model.hpp"

namespace weft::model {
namespace {

struct registered {
  const char* name;
  case_fn fn;
};

std::vector<registered>& registry() {
  static std::vector<registered> cases;
  return cases;
}

/// A check that passed without searching every schedule within its bound: its budget (time, or
/// interleavings) cut it short. Never reported "ok": what it did not run, it did not check.
bool incomplete(const report& r) { return !r.failed && r.note.empty() && !r.exhaustive; }

void print_line(const report& r) {
  std::string what = r.note;
  if (what.empty() && !r.failed) {
    what = r.exhaustive ? "exhaustive within " + std::to_string(r.preemption_bound) + " preemptions"
                        : "cut short by its budget before exhausting " + std::to_string(r.preemption_bound) +
                              " preemptions";
  }
  const char* verdict = r.failed ? "FAIL" : incomplete(r) ? "INCOMPLETE" : "ok";
  std::printf("%-4s %-40s %9llu interleavings %7.2fs  %s\n", verdict, r.name.c_str(),
              static_cast<unsigned long long>(r.interleavings), r.seconds, what.c_str());
}

void print_trace(const report& r) {
  std::size_t from = r.trace.size() > 40 ? r.trace.size() - 40 : 0;
  std::printf("     last %zu of %zu steps:\n", r.trace.size() - from, r.trace.size());
  for (std::size_t i = from; i < r.trace.size(); ++i) std::printf("       %s\n", r.trace[i].c_str());
}

void print_failure(const report& r, const char* program) {
  std::printf("     failure: %s\n", r.failure.c_str());
  if (r.schedule.empty()) return;
  std::printf("     replay:  WEFT_MODEL_REPLAY='%s' %s %s\n", r.schedule.c_str(), program, r.name.c_str());
  std::printf("     replaying reproduced it: %s\n", r.reproduced ? "yes" : "NO");
  print_trace(r);
}

}  // namespace

bool register_case(const char* name, case_fn fn) {
  registry().push_back({name, fn});
  return true;
}

int run_cases(int argc, char** argv) {
  std::string_view filter = argc > 1 ? argv[1] : "";
  const char* env = std::getenv("WEFT_MODEL_VERBOSE");
  bool verbose = env != nullptr && *env != '\0' && *env != '0';  // traces of the bugs found, too
  const char* budget = std::getenv("WEFT_MODEL_SECONDS");
  set_time_budget(budget != nullptr && *budget != '\0' ? std::strtod(budget, nullptr) : 240);
  int passed = 0, failed = 0, cut_short = 0;
  for (const registered& c : registry()) {
    if (std::string_view(c.name).find(filter) == std::string_view::npos) continue;
    report r = c.fn(c.name);
    r.name = c.name;
    print_line(r);
    if (r.failed) {
      print_failure(r, argv[0]);
    } else if (!r.schedule.empty()) {
      std::printf("     schedule: %s\n", r.schedule.c_str());  // of the bug a self-test found
      if (verbose) print_trace(r);
    }
    if (incomplete(r)) ++cut_short;
    ++(r.failed || incomplete(r) ? failed : passed);
    std::fflush(stdout);
  }
  if (cut_short != 0) {
    std::printf("incomplete: %d of the failed were cut short by their budget (WEFT_MODEL_SECONDS, max_interleavings)\n",
                cut_short);
  }
  std::printf("models: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace weft::model
