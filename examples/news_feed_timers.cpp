// The seed's news feed, on weft's event loop.
//
// "Process" 1 turns scroll events into requests; "process" 2 turns responses into rendered items. Both
// progress during the same window of time, yet the loop handles one event at a time: each line below is
// one event, stamped with the real time at which the loop handled it.
//
// The requests are simulated with timers (a random network delay) until weft's HTTP client lands;
// then this example gives way to examples/news_feed.cpp with real requests to a local server.
//
//     news_feed_timers [requests=7] [seed=2026]
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

using namespace std::chrono_literals;

namespace {

struct timeline {
  weft::clock::time_point start = weft::clock::now();
  int in_flight = 0;
  int most_in_flight = 0;

  double ms() const { return std::chrono::duration<double, std::milli>(weft::clock::now() - start).count(); }

  void left(const std::string& what) const { std::printf("%9.1f ms   %s\n", ms(), what.c_str()); }
  void right(const std::string& what) const { std::printf("%9.1f ms   %-28s %s\n", ms(), "", what.c_str()); }
};

// One Ajax request: the network (a timer), then the response event, handled by "process" 2.
weft::task<void> request(int id, weft::clock::duration network_delay, timeline& tl) {
  ++tl.in_flight;
  if (tl.in_flight > tl.most_in_flight) tl.most_in_flight = tl.in_flight;
  co_await weft::sleep_for(network_delay);
  --tl.in_flight;
  tl.right("response " + std::to_string(id) + " -> rendered");
}

// "Process" 1: scroll events at jittered intervals, each firing a request without waiting for it.
weft::task<void> news_feed(int requests, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> scroll_gap_ms(15, 45);
  std::uniform_int_distribution<int> network_ms(20, 140);
  timeline tl;

  std::printf("weft news feed: %d scroll events, requests simulated with timers (seed %u)\n\n", requests, seed);
  std::printf("%12s   %-28s %s\n", "time", "\"process\" 1: onscroll", "\"process\" 2: responses");

  weft::task_group responses;
  for (int id = 1; id <= requests; ++id) {
    tl.left("onscroll, request " + std::to_string(id));
    responses.spawn(request(id, std::chrono::milliseconds(network_ms(rng)), tl));
    if (id < requests) co_await weft::sleep_for(std::chrono::milliseconds(scroll_gap_ms(rng)));
  }
  co_await responses.join();

  std::printf("\n%d requests, up to %d in flight at once, finished after %.1f ms.\n", requests, tl.most_in_flight,
              tl.ms());
  std::printf("Both \"processes\" progressed together, but every line above is a separate event:\n"
              "the loop handled them one at a time, never two at the same instant.\n");
}

}  // namespace

int main(int argc, char** argv) {
  int requests = argc > 1 ? std::atoi(argv[1]) : 7;
  unsigned seed = argc > 2 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : 2026u;
  if (requests < 1 || requests > 10'000) {
    std::fprintf(stderr, "usage: news_feed_timers [requests 1..10000] [seed]\n");
    return 2;
  }
  weft::run(news_feed(requests, seed));
}
