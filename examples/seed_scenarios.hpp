// The seed's scenarios as functions, each defined in the example of the same name, so that the example
// programs and `weft demo` (tools/weft/demo.cpp) run the same code. An example defines its main()
// unless WEFT_EXAMPLE_NO_MAIN is defined, as the weft tool's build does.
#pragma once

#include <weft/weft.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace seed {

/// examples/news_feed.cpp: `requests` scroll events at jittered intervals, each firing a GET to
/// `base`/delay/0.0NN (a random 20–140 ms "network"), each response rendered as it arrives; the
/// two-column timeline is printed as it happens. Returns the requests that failed.
weft::task<int> news_feed(std::string base, int requests, unsigned seed);

/// examples/concurrent_requests.cpp: the seed's gist. Five GETs to `base`/delay/.N1 with `request-id: i`,
/// started without waiting; each id is printed as its JSON response arrives. Returns the requests that failed.
weft::task<int> concurrent_requests(std::string base, unsigned seed);

/// examples/three_modes.cpp: 8 Mandelbrot tiles and 8 GETs of `delay_url`, each run sequentially,
/// concurrently on one loop, on threads and in processes, with the wall times in a table. The
/// processes run this program (/proc/self/exe) with `child_prefix` then the job's arguments. Returns the
/// jobs that failed. `observe`, if set, hears of each way's run as it ends: the workload ("computing",
/// "waiting"), the way ("sequential", "concurrent", "threads", "processes") and when it started and ended.
using mode_observer = std::function<void(const std::string& workload, const std::string& mode,
                                         std::chrono::steady_clock::time_point start,
                                         std::chrono::steady_clock::time_point end)>;
int three_modes(const std::string& delay_url, const std::vector<std::string>& child_prefix,
                const mode_observer& observe = {});
/// The child side of three_modes: `args` is {"--tile", "I"} or {"--fetch", URL}. Returns the exit status.
int three_modes_job(const std::vector<std::string>& args);

}  // namespace seed
