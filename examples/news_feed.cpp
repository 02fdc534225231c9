// The seed's news feed, with real requests, on weft's event loop.
//
// "Process" 1 turns scroll events into requests; "process" 2 turns responses into rendered items. Both
// progress during the same window of time, yet the loop handles one event at a time: each line below is
// one event, stamped with the real time at which the loop handled it. The requests are real HTTP
// requests to /delay/0.0NN, whose server waits NN ms (a random "network" of 20–140 ms) before answering.
//
//     news_feed                              against an embedded server on 127.0.0.1
//     news_feed http://127.0.0.1:8080        against `weft serve` (or any httpbin)
//     news_feed ... [requests=7] [seed]
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "example_server.hpp"
#include "seed_scenarios.hpp"

namespace seed {

namespace {

struct timeline {
  weft::clock::time_point start = weft::clock::now();
  int in_flight = 0;
  int most_in_flight = 0;
  int failed = 0;

  double ms() const { return std::chrono::duration<double, std::milli>(weft::clock::now() - start).count(); }

  void left(const std::string& what) const { std::printf("%9.1f ms   %s\n", ms(), what.c_str()); }
  void right(const std::string& what) const { std::printf("%9.1f ms   %-28s %s\n", ms(), "", what.c_str()); }
};

// One Ajax request; its response event is handled by "process" 2.
weft::task<void> request(weft::http::client& http, std::string url, int id, timeline& tl) {
  ++tl.in_flight;
  if (tl.in_flight > tl.most_in_flight) tl.most_in_flight = tl.in_flight;
  auto res = co_await http.get(std::move(url));
  --tl.in_flight;
  if (!res) {
    ++tl.failed;
    tl.right("response " + std::to_string(id) + " failed: " + res.error().message());
  } else {
    tl.right("response " + std::to_string(id) + " -> rendered (" + std::to_string(res->body.size()) + " B)");
  }
}

}  // namespace

// "Process" 1: scroll events at jittered intervals, each firing a request without waiting for it.
weft::task<int> news_feed(std::string base, int requests, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> scroll_gap_ms(15, 45);
  std::uniform_int_distribution<int> network_ms(20, 140);
  weft::http::client http;
  (void)co_await http.get(base + "/get");  // connect once, so the first request's time is its delay alone

  std::printf("%12s   %-28s %s\n", "time", "\"process\" 1: onscroll", "\"process\" 2: responses");
  timeline tl;
  weft::task_group responses;
  for (int id = 1; id <= requests; ++id) {
    char path[32];
    std::snprintf(path, sizeof path, "/delay/%.3f", network_ms(rng) / 1000.0);
    tl.left("onscroll, request " + std::to_string(id));
    responses.spawn("request " + std::to_string(id), request(http, base + path, id, tl));  // named in a trace
    if (id < requests) co_await weft::sleep_for(std::chrono::milliseconds(scroll_gap_ms(rng)));
  }
  co_await responses.join();

  std::printf("\n%d requests, up to %d in flight at once, finished after %.1f ms.\n", requests, tl.most_in_flight,
              tl.ms());
  std::printf("Both \"processes\" progressed together, but every line above is a separate event:\n"
              "the loop handled them one at a time, never two at the same instant.\n");
  co_return tl.failed;
}

}  // namespace seed

#ifndef WEFT_EXAMPLE_NO_MAIN
int main(int argc, char** argv) {
  int arg = 1;
  std::unique_ptr<example::server> embedded;
  std::string base;
  if (argc > 1 && std::string(argv[1]).find("://") != std::string::npos) {
    base = argv[arg++];
  } else {
    embedded = std::make_unique<example::server>();
    base = embedded->base();
  }
  int requests = argc > arg ? std::atoi(argv[arg]) : 7;
  unsigned seed = argc > arg + 1 ? static_cast<unsigned>(std::strtoul(argv[arg + 1], nullptr, 10)) : 2026u;
  if (requests < 1 || requests > 10'000) {
    std::fprintf(stderr, "usage: news_feed [URL] [requests 1..10000] [seed]\n");
    return 2;
  }
  std::printf("weft news feed: %d scroll events, real requests to %s (seed %u)\n\n", requests, base.c_str(), seed);
  return weft::run(seed::news_feed(base, requests, seed)) == 0 ? 0 : 1;
}
#endif
