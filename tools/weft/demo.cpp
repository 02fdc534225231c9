// `weft demo` (`make run`): the news feed and the concurrent requests of the essay weft started from, for real, against an embedded `weft serve` on an
// ephemeral loopback port — no outside network. Its sections run the examples' own code
// (examples/seed_scenarios.hpp), and take well under 15 seconds.
#include <weft/weft.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "commands.hpp"
#include "example_server.hpp"
#include "httpbin.hpp"
#include "seed_scenarios.hpp"
#include "timeline.hpp"

namespace weft::tool {

namespace {

constexpr int delay_requests = 5;

double seconds_since(clock::time_point start) { return std::chrono::duration<double>(clock::now() - start).count(); }

task<void> get_or_complain(http::client& http, std::string url, int& failed) {
  auto r = co_await http.get(std::move(url));
  if (!r) {
    std::printf("   a request failed: %s\n", r.error().message().c_str());
    ++failed;
  }
}

/// N requests one after another, then N at once; prints the two wall times side by side.
task<int> sequential_against_concurrent(std::string url) {
  http::client http;
  (void)co_await http.get(url.substr(0, url.find("/delay")) + "/get");  // connect first: time the waiting alone
  int failed = 0;
  auto start = clock::now();
  for (int i = 0; i < delay_requests; ++i) co_await get_or_complain(http, url, failed);
  double sequential = seconds_since(start);
  std::printf("   sequential, one after another:   %5.2f s\n", sequential);
  start = clock::now();
  task_group all;
  for (int i = 0; i < delay_requests; ++i) all.spawn("request " + std::to_string(i + 1), get_or_complain(http, url, failed));
  co_await all.join();
  double concurrent = seconds_since(start);
  std::printf("   concurrent, all at once:         %5.2f s   (%.1f× sooner)\n", concurrent,
              concurrent > 0 ? sequential / concurrent : 0.0);
  co_return failed;
}

void heading(const char* text) {
  if (isatty(STDOUT_FILENO) == 1) {
    std::printf("\n\033[1m%s\033[0m\n\n", text);  // bold on a terminal
  } else {
    std::printf("\n%s\n\n", text);
  }
}

}  // namespace

/// When each section of the demo ran, and each way of the three modes: the timeline page's layout.
struct demo_windows {
  using time_point = std::chrono::steady_clock::time_point;
  struct window {
    std::string title, text;
    time_point start, end;
  };
  time_point server_start;
  std::vector<window> sections;
  std::vector<std::pair<std::string, window>> modes;  // (workload, the way it ran)
};

/// Draws the demo's traces (every file `trace_base` and its numbered and per-process siblings) into
/// `out`, a row per section; the embedded server's trace shows in each, cut to the section's time.
bool write_demo_timeline(const std::string& trace_base, const std::string& out, const demo_windows& w) {
  namespace fs = std::filesystem;
  fs::path base(trace_base);
  std::string stem = base.stem().string();
  std::string ext = base.extension().string();
  std::vector<timeline::trace> traces;
  try {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(base.has_parent_path() ? base.parent_path() : fs::path("."), ec)) {
      std::string name = entry.path().filename().string();
      bool sibling = name.rfind(stem + ".", 0) == 0 && name.size() >= ext.size() &&
                     name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
      if (name == base.filename().string() || sibling) traces.push_back(timeline::read(entry.path().string()));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft demo: the timeline: %s\n", e.what());
    return false;
  }
  std::sort(traces.begin(), traces.end(), [](const auto& a, const auto& b) { return a.origin_ns < b.origin_ns; });
  auto ns = [](demo_windows::time_point t) {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  };
  const timeline::trace* server = nullptr;
  long self = static_cast<long>(::getpid());
  for (auto& t : traces) {
    if (t.origin_ns < ns(w.sections.front().start) && t.process_id == self && server == nullptr) {
      t.label = "embedded server";
      server = &t;
    }
  }
  // The traces whose runtime started within [start, end], labelled for the panel.
  auto panel_of = [&](const std::string& title, const demo_windows::window& win, bool task_rows) {
    timeline::panel p;
    p.title = title;
    p.start = ns(win.start);
    p.end = ns(win.end);
    p.task_rows = task_rows;
    int loops = 0;
    for (auto& t : traces) {
      if (&t == server || t.origin_ns < p.start || t.origin_ns > p.end) continue;
      t.label = t.process_id != self ? "process " + std::to_string(t.process_id) : "loop " + std::to_string(++loops);
      p.traces.push_back(&t);
    }
    if (server != nullptr) p.traces.push_back(server);
    return p;
  };
  timeline::page page;
  page.title = "weft demo: the timeline of a run";
  page.text = "Each section of `weft demo`, drawn from the trace of its own run: every bar is one run of a task on "
              "an event loop's thread (a worker), from the moment it was resumed to the moment it waited again. "
              "The embedded server that answered the requests is drawn under each section, cut to its time.";
  for (const auto& section : w.sections) {
    timeline::row r;
    r.title = section.title;
    r.text = section.text;
    r.panels.push_back(panel_of("", section, true));  // the row's heading names it
    page.rows.push_back(std::move(r));
  }
  for (const char* workload : {"computing", "waiting"}) {
    timeline::row r;
    r.title = std::string("The three modes: ") + workload;
    r.text = workload == std::string("computing")
                 ? "8 Mandelbrot tiles four ways, on one scale. Sequential and threads run plain code, with no event "
                   "loop to trace; on one loop the tiles still run one after another; processes run two at a time."
                 : "8 GETs of /delay/0.2 four ways, on one scale. Each sequential GET and each on the threads runs a "
                   "loop of its own, one after another or two at a time; on one loop all eight wait together.";
    for (const auto& [name, win] : w.modes) {
      if (name != workload) continue;
      timeline::panel p = panel_of(win.title, win, false);
      if (p.traces.size() == (server != nullptr ? 1u : 0u) && std::string(workload) == "computing") {
        p.traces.clear();  // no loop ran it: draw the plain code's time alone
        p.plain = win.text;
      }
      r.panels.push_back(std::move(p));
    }
    if (!r.panels.empty()) page.rows.push_back(std::move(r));
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << timeline::render(page);
  file.close();
  if (!file) {
    std::fprintf(stderr, "weft demo: cannot write %s\n", out.c_str());
    return false;
  }
  std::printf("weft demo: the timeline of this run (%zu traces): %s\n", traces.size(), out.c_str());
  return true;
}

int demo(const demo_config& cfg) {
  // The demo's runtimes are made in several places (the embedded server's, each section's): the
  // variable reaches them all, and numbers the second and later files. A timeline without --trace
  // traces into a directory of its own, removed once the page is drawn.
  std::string trace_base = cfg.trace_file;
  std::string scratch;
  if (trace_base.empty() && !cfg.timeline_file.empty()) {
    char dir[] = "/tmp/weft-demo-XXXXXX";
    if (::mkdtemp(dir) == nullptr) {
      std::perror("weft demo: a directory for the traces");
      return 1;
    }
    scratch = dir;
    trace_base = scratch + "/demo.json";
  }
  if (!trace_base.empty()) ::setenv("WEFT_TRACE", trace_base.c_str(), 1);
  demo_windows windows;
  auto start = clock::now();
  int failed = 0;
  {
    windows.server_start = std::chrono::steady_clock::now();
    example::server server(httpbin_routes());  // the whole httpbin API, on a thread of its own
    std::printf("weft demo: the news feed and the concurrent requests against an embedded weft serve at %s/\n",
                server.base().c_str());
    auto section = [&](std::string title, std::string text, auto&& body) {
      heading(title.c_str());
      auto began = std::chrono::steady_clock::now();
      body();
      windows.sections.push_back({std::move(title), std::move(text), began, std::chrono::steady_clock::now()});
    };

    section("1. The news feed: scroll events fire requests; responses render as they arrive, on one loop",
            "\"Process\" 1, the scroll events, is main: a short run at each scroll. \"Process\" 2, the responses, is "
            "the request tasks: each runs again when its response arrives. Both progress together, yet the loop's "
            "lane holds one run at a time.",
            [&] { failed += run(seed::news_feed(server.base(), 7, 2026)); });
    section("2. Concurrent requests: request-id i to /delay/.N1, ids printed in arrival order",
            "Five GETs started at once: their waits (the blue spans) overlap, and each task runs again as its "
            "response comes, in the order the delays allow.",
            [&] { failed += run(seed::concurrent_requests(server.base(), std::random_device{}())); });
    char title[128];
    std::snprintf(title, sizeof title, "3. Sequential against concurrent: %d requests to /delay/0.2", delay_requests);
    section(title, "The same requests one after another, then all at once.",
            [&] { failed += run(sequential_against_concurrent(server.base() + "/delay/0.2")); });

    if (!cfg.skip_modes) {
      heading("4. The three modes: sequential, concurrent, parallel on threads, parallel in processes");
      auto observe = [&](const std::string& workload, const std::string& mode, std::chrono::steady_clock::time_point from,
                         std::chrono::steady_clock::time_point to) {
        std::string plain = mode == "sequential" ? "plain code on the main thread" : "plain code on threads";
        std::string way = mode == "concurrent"  ? "concurrent (one loop)"
                          : mode == "threads"   ? "parallel (threads)"
                          : mode == "processes" ? "parallel (processes)"
                                                : mode;
        windows.modes.push_back({workload, {way, plain, from, to}});
      };
      failed += seed::three_modes(server.base() + "/delay/0.2", {"demo-job"}, observe);
    }
  }  // the server's runtime ends here, and its trace with it
  if (failed > 0) {
    std::printf("\nweft demo: %d requests or jobs failed (%.1f s).\n", failed, seconds_since(start));
  } else {
    std::printf("\nweft demo: done in %.1f s.\n", seconds_since(start));
  }
  bool drawn = cfg.timeline_file.empty() || write_demo_timeline(trace_base, cfg.timeline_file, windows);
  if (!scratch.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  return failed > 0 || !drawn ? 1 : 0;
}

int demo_job(const std::vector<std::string>& args) {
  // A job inherits a traced demo's WEFT_TRACE: give it a file of its own rather than the demo's.
  if (const char* trace = std::getenv("WEFT_TRACE"); trace != nullptr && *trace != '\0') {
    std::string path = trace;
    std::size_t dot = path.rfind('.');
    std::size_t slash = path.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) dot = path.size();
    path.insert(dot, ".pid" + std::to_string(::getpid()));
    ::setenv("WEFT_TRACE", path.c_str(), 1);
  }
  return seed::three_modes_job(args);
}

}  // namespace weft::tool
