// The three modes of the essay weft started from, measured: the same jobs run sequentially, concurrently on one event loop, in
// parallel on threads, and in parallel in processes — once for computing (Mandelbrot tiles) and once
// for waiting (requests to /delay on an embedded server). Concurrency wins for waiting, parallelism
// for computing.
//
//     three_modes                 jobs against an embedded server on 127.0.0.1
//     three_modes --url URL       the waiting jobs GET URL instead (say http://127.0.0.1:8080/delay/0.2)
//     mpirun -np 4 three_modes    a fifth column: parallel in 4 MPI ranks, which may be on separate
//                                 computers (weft::mpi::for_each; the embedded server is rank 0's, so
//                                 ranks on other hosts need --url with an address they can reach)
//
// (It also runs as its own child process: `three_modes --tile I` and `three_modes --fetch URL` do one job.)
// `weft demo` runs the same code as its last section (see seed_scenarios.hpp).
#include <weft/weft.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "example_server.hpp"
#include "seed_scenarios.hpp"

#if defined(WEFT_HAVE_MPI) && !defined(WEFT_EXAMPLE_NO_MAIN)
#include <weft/mpi.hpp>
#endif

namespace seed {

namespace {

using namespace std::chrono_literals;
using weft::task;

constexpr int jobs = 8;
constexpr int tile_size = 160;     // pixels per side of a tile
constexpr int max_iterations = 1000;
std::atomic<int> failures{0};  // jobs that failed, in any mode (fetches run on several threads)

/// Computing: one tile of the Mandelbrot set near its edge; returns the iterations spent (a checksum).
long mandelbrot_tile(int tile) {
  long total = 0;
  double x0 = -0.75 + 0.002 * tile;
  for (int py = 0; py < tile_size; ++py) {
    for (int px = 0; px < tile_size; ++px) {
      std::complex<double> c(x0 + px * 0.0005, 0.1 + py * 0.0005);
      std::complex<double> z = 0;
      int i = 0;
      while (i < max_iterations && std::norm(z) <= 4.0) {
        z = z * z + c;
        ++i;
      }
      total += i;
    }
  }
  return total;
}

/// Waiting: one GET; returns the body's size (a checksum).
task<long> fetch(weft::http::client& http, const std::string& url) {
  auto r = co_await http.get(url);
  if (!r || r->status != 200) {
    std::fprintf(stderr, "three_modes: GET %s: %s\n", url.c_str(), r ? "bad status" : r.error().message().c_str());
    ++failures;
    co_return -1;
  }
  co_return static_cast<long>(r->body.size());
}

long fetch_blocking(const std::string& url) {
  return weft::run([&]() -> task<long> {
    weft::http::client http;
    co_return co_await fetch(http, url);
  }());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The four ways to run `jobs` jobs. `one(i)` does job i in plain blocking code; `one_async(i)` as a
/// task; `child_args(i)` are the arguments that make this program do job i as a child process.
struct workload {
  std::function<long(int)> one;
  std::function<task<long>(int)> one_async;
  std::function<std::vector<std::string>(int)> child_args;
};

double sequential(const workload& w) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < jobs; ++i) w.one(i);
  return seconds_since(start);
}

double concurrent(const workload& w) {
  auto start = std::chrono::steady_clock::now();
  weft::run([&]() -> task<void> {  // one loop, one thread: every job a task on it
    std::vector<task<long>> all;
    for (int i = 0; i < jobs; ++i) all.push_back(w.one_async(i));
    co_await weft::when_all(std::move(all));
  }());
  return seconds_since(start);
}

double on_threads(const workload& w, unsigned threads) {
  auto start = std::chrono::steady_clock::now();
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {  // each thread takes the next job and does it, one at a time
      for (int i; (i = next++) < jobs;) w.one(i);
    });
  }
  for (auto& t : pool) t.join();
  return seconds_since(start);
}

double in_processes(const workload& w, unsigned processes, const std::vector<std::string>& child_prefix) {
  auto start = std::chrono::steady_clock::now();
  std::vector<weft::process::command> commands;
  for (int i = 0; i < jobs; ++i) {
    std::vector<std::string> args = child_prefix;
    for (auto& a : w.child_args(i)) args.push_back(std::move(a));
    commands.push_back(weft::process::command("/proc/self/exe").args(std::move(args)));
  }
  weft::process::run_all_options options;
  options.parallel = processes;
  auto results = weft::run(weft::process::run_all(std::move(commands), options));
  for (auto& r : results) {
    if (!r || !r->status.success()) {
      std::fprintf(stderr, "three_modes: a child failed\n");
      ++failures;
    }
  }
  return seconds_since(start);
}

/// Set under mpirun: the fifth mode, the jobs spread over every rank of the job (every rank runs it).
std::function<double(const workload&)> across_ranks;
unsigned ranks = 0;

/// The two workloads, computing and waiting (GET `url`), for every mode.
struct workloads {
  workload computing;
  workload waiting;
};

workloads make_workloads(const std::string& url, weft::http::client& shared_http) {
  return {
      {
          [](int i) { return mandelbrot_tile(i); },
          [](int i) -> task<long> { co_return mandelbrot_tile(i); },  // a task that never waits: no overlap
          [](int i) { return std::vector<std::string>{"--tile", std::to_string(i)}; },
      },
      {
          [url](int) { return fetch_blocking(url); },
          [url, &shared_http](int) { return fetch(shared_http, url); },
          [url](int) { return std::vector<std::string>{"--fetch", url}; },
      },
  };
}

void report(const char* name, const char* workload_name, const workload& w, unsigned cores,
            const std::vector<std::string>& child_prefix, const seed::mode_observer& observe) {
  auto timed = [&](const char* mode, auto&& run_it) {
    auto start = std::chrono::steady_clock::now();
    double s = run_it();
    if (observe) observe(workload_name, mode, start, std::chrono::steady_clock::now());
    return s;
  };
  double s = timed("sequential", [&] { return sequential(w); });
  double c = timed("concurrent", [&] { return concurrent(w); });
  double t = timed("threads", [&] { return on_threads(w, cores); });
  double p = timed("processes", [&] { return in_processes(w, cores, child_prefix); });
  if (!across_ranks) {
    std::printf("  %-28s %8.2f s %14.2f s %14.2f s %14.2f s\n", name, s, c, t, p);
    return;
  }
  double m = timed("ranks", [&] { return across_ranks(w); });
  std::printf("  %-28s %8.2f s %14.2f s %14.2f s %14.2f s %14.2f s\n", name, s, c, t, p, m);
}

}  // namespace

int three_modes_job(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[0] == "--tile") {
    std::printf("%ld\n", mandelbrot_tile(std::atoi(args[1].c_str())));
    return 0;
  }
  if (args.size() == 2 && args[0] == "--fetch") {
    long n = fetch_blocking(args[1]);
    std::printf("%ld\n", n);
    return n < 0 ? 1 : 0;
  }
  std::fprintf(stderr, "three_modes: a job is --tile I or --fetch URL\n");
  return 2;
}

int three_modes(const std::string& url, const std::vector<std::string>& child_prefix, const mode_observer& observe) {
  unsigned cores = std::max(2u, std::thread::hardware_concurrency());
  weft::http::client shared_http;  // the concurrent mode's: its pool serves the tasks of one loop
  auto [computing, waiting] = make_workloads(url, shared_http);
  std::printf("Three modes: %d jobs each way, on %u cores (wall time)\n", jobs, cores);
  char threads[32];    // (snprintf: g++ 12 -O3 warns, wrongly, on "(" + std::to_string(n) + ...)
  char processes[32];
  char in_ranks[32];
  std::snprintf(threads, sizeof threads, "(%u threads)", cores);
  std::snprintf(processes, sizeof processes, "(%u processes)", cores);
  std::snprintf(in_ranks, sizeof in_ranks, "(%u MPI ranks)", ranks);
  if (!across_ranks) {
    std::printf("  %-28s %10s %16s %16s %16s\n", "", "sequential", "concurrent", "parallel", "parallel");
    std::printf("  %-28s %10s %16s %16s %16s\n", "", "", "(one loop)", threads, processes);
  } else {
    std::printf("  %-28s %10s %16s %16s %16s %16s\n", "", "sequential", "concurrent", "parallel", "parallel", "parallel");
    std::printf("  %-28s %10s %16s %16s %16s %16s\n", "", "", "(one loop)", threads, processes, in_ranks);
  }
  report("computing: Mandelbrot tiles", "computing", computing, cores, child_prefix, observe);
  std::string path = url.substr(std::min(url.size(), url.find('/', url.find("://") + 3)));
  report(("waiting: GET " + path).c_str(), "waiting", waiting, cores, child_prefix, observe);
  std::printf("Waiting overlaps on one loop (concurrency); computing needs more cores (parallelism).\n");
  return failures.load();
}

}  // namespace seed

#ifndef WEFT_EXAMPLE_NO_MAIN
#ifdef WEFT_HAVE_MPI
namespace {

/// The jobs spread over every rank: each rank asks rank 0 for the next job and does it on its compute
/// pool (weft::mpi::for_each, one job at a time).
double across_ranks(const seed::workload& w) {
  auto start = std::chrono::steady_clock::now();
  weft::mpi::map_options one_at_a_time;
  one_at_a_time.chunk = 1;
  weft::run(weft::mpi::for_each(seed::jobs, [&](std::size_t i) { w.one(static_cast<int>(i)); }, one_at_a_time));
  return seed::seconds_since(start);
}

/// Rank 0 tells every rank the URL of the waiting jobs (its embedded server's, or --url).
std::string share_url(const weft::mpi::communicator& world, std::string url) {
  return weft::run([&]() -> weft::task<std::string> {
    std::array<long, 1> size{static_cast<long>(url.size())};
    if (!co_await world.broadcast(size, 0)) throw std::runtime_error("broadcast failed");
    url.resize(static_cast<std::size_t>(size[0]));
    if (!co_await world.broadcast(url, 0)) throw std::runtime_error("broadcast failed");
    co_return url;
  }());
}

}  // namespace
#endif

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && (args[0] == "--tile" || args[0] == "--fetch")) return seed::three_modes_job(args);
#ifdef WEFT_HAVE_MPI
  std::unique_ptr<weft::mpi::environment> mpi;
  if (weft::mpi::environment::launched_by_mpirun()) {
    mpi = std::make_unique<weft::mpi::environment>(argc, argv);
    seed::across_ranks = across_ranks;
    seed::ranks = static_cast<unsigned>(mpi->world().size());
  }
  if (mpi && mpi->world().rank() != 0) {
    // The other ranks only take part in the fifth mode, once for each workload, in rank 0's order.
    std::string url = share_url(mpi->world(), "");
    weft::http::client unused;
    auto [computing, waiting] = seed::make_workloads(url, unused);
    across_ranks(computing);
    across_ranks(waiting);
    return seed::failures.load() == 0 ? 0 : 1;
  }
#endif
  std::unique_ptr<example::server> embedded;
  std::string url;
  if (args.size() == 2 && args[0] == "--url") {
    url = args[1];
  } else if (args.empty()) {
    embedded = std::make_unique<example::server>();
    url = embedded->base() + "/delay/0.2";
  } else {
    std::fprintf(stderr, "usage: three_modes [--url URL]\n");
    return 2;
  }
#ifdef WEFT_HAVE_MPI
  if (mpi) share_url(mpi->world(), url);
#endif
  return seed::three_modes(url, {}) == 0 ? 0 : 1;
}
#endif
