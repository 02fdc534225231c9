// `weft demo` (`make run`): the news feed and the concurrent requests of the essay weft started from, for real, against an embedded `weft serve` on an
// ephemeral loopback port — no outside network. Its sections run the examples' own code
// (examples/seed_scenarios.hpp), and take well under 15 seconds.
#include <weft/weft.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "commands.hpp"
#include "example_server.hpp"
#include "httpbin.hpp"
#include "seed_scenarios.hpp"

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
  for (int i = 0; i < delay_requests; ++i) all.spawn(get_or_complain(http, url, failed));
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

int demo(const demo_config& cfg) {
  // The demo's runtimes are made in several places (the embedded server's, each section's): the
  // variable reaches them all, and numbers the second and later files.
  if (!cfg.trace_file.empty()) ::setenv("WEFT_TRACE", cfg.trace_file.c_str(), 1);
  example::server server(httpbin_routes());  // the whole httpbin API, on a thread of its own
  std::printf("weft demo: the news feed and the concurrent requests against an embedded weft serve at %s/\n", server.base().c_str());
  auto start = clock::now();
  int failed = 0;

  heading("1. The news feed: scroll events fire requests; responses render as they arrive, on one loop");
  failed += run(seed::news_feed(server.base(), 7, 2026));

  heading("2. Concurrent requests: request-id i to /delay/.N1, ids printed in arrival order");
  failed += run(seed::concurrent_requests(server.base(), std::random_device{}()));

  char title[128];
  std::snprintf(title, sizeof title, "3. Sequential against concurrent: %d requests to /delay/0.2", delay_requests);
  heading(title);
  failed += run(sequential_against_concurrent(server.base() + "/delay/0.2"));

  if (!cfg.skip_modes) {
    heading("4. The three modes: sequential, concurrent, parallel on threads, parallel in processes");
    failed += seed::three_modes(server.base() + "/delay/0.2", {"demo-job"});
  }
  if (failed > 0) {
    std::printf("\nweft demo: %d requests or jobs failed (%.1f s).\n", failed, seconds_since(start));
    return 1;
  }
  std::printf("\nweft demo: done in %.1f s.\n", seconds_since(start));
  return 0;
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
