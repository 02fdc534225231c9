// The parallel runtime's costs, printed one line per measurement for bench/parallel/run.sh:
//
//   spawn W P M      P spawner tasks on W workers each spawn M trivial tasks, in batches of 1,000 that
//                    they wait for (as a server spawns per request); ns per spawned task
//   pingpong W N     two tasks bounce a value over two rendezvous channels N times; ns per round trip
//   pfor KERNEL      one kernel on weft::parallel_for, oneTBB parallel_for, OpenMP (guided) and one thread;
//                    KERNEL is mandelbrot (uneven rows) or sqrt (16M even, cheap elements)
#include <omp.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

double ns_since(steady::time_point start) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - start).count());
}

constexpr long spawn_batch = 1000;

weft::task<void> bump(weft::wait_group& batch) {
  batch.done();
  co_return;
}

int spawn_bench(std::size_t workers, long spawners, long per_spawner) {
  weft::runtime_options o;
  o.workers = workers;
  weft::runtime rt(o);
  long total = spawners * per_spawner;
  auto body = [&]() -> weft::task<double> {
    auto start = steady::now();
    std::vector<weft::join_handle<void>> hs;
    for (long p = 0; p < spawners; ++p) {
      hs.push_back(weft::spawn([per_spawner]() -> weft::task<void> {
        weft::wait_group batch;
        for (long m = 0; m < per_spawner; m += spawn_batch) {
          long n = std::min(spawn_batch, per_spawner - m);
          batch.add(static_cast<std::size_t>(n));
          for (long k = 0; k < n; ++k) weft::spawn(bump(batch)).detach();
          auto all = co_await batch.wait();
          if (!all) std::abort();
        }
      }));
    }
    for (auto& h : hs) co_await std::move(h);
    co_return ns_since(start);
  };
  double ns = rt.block_on(body());
  std::printf("spawn weft workers=%zu tasks=%ld ns_per_task=%.1f\n", workers, total, ns / static_cast<double>(total));
  return 0;
}

int pingpong_bench(std::size_t workers, long rounds) {
  weft::runtime_options o;
  o.workers = workers;
  weft::runtime rt(o);
  auto body = [&]() -> weft::task<double> {
    weft::channel<long> ping(0);
    weft::channel<long> pong(0);
    auto echo = weft::spawn([ping, pong]() mutable -> weft::task<void> {
      for (;;) {
        auto v = co_await ping.receive();
        if (!v) co_return;
        auto s = co_await pong.send(*v);
        if (!s) co_return;
      }
    });
    auto start = steady::now();
    for (long i = 0; i < rounds; ++i) {
      auto s = co_await ping.send(i);
      auto r = co_await pong.receive();
      if (!s || !r) std::abort();
    }
    double ns = ns_since(start);
    ping.close();
    co_await std::move(echo);
    co_return ns;
  };
  double ns = rt.block_on(body());
  std::printf("pingpong weft workers=%zu rounds=%ld ns_per_round_trip=%.1f\n", workers, rounds, ns / static_cast<double>(rounds));
  return 0;
}

// Kernels: `row(i)` does item i's work and returns a checksum contribution.
struct mandelbrot {
  static constexpr int size = 1600;
  static constexpr int max_iter = 400;
  std::vector<int> out = std::vector<int>(static_cast<std::size_t>(size) * size);
  std::size_t items() const { return size; }
  void item(std::size_t y) {
    for (int x = 0; x < size; ++x) {
      double cr = -2.0 + 2.6 * x / size;
      double ci = -1.3 + 2.6 * static_cast<double>(y) / size;
      double zr = 0;
      double zi = 0;
      int n = 0;
      while (n < max_iter && zr * zr + zi * zi < 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        ++n;
      }
      out[y * size + static_cast<std::size_t>(x)] = n;
    }
  }
  long checksum() const {
    long s = 0;
    for (int v : out) s += v;
    return s;
  }
};

struct sqrt_kernel {
  std::vector<double> in = std::vector<double>(1 << 24);
  std::vector<double> out = std::vector<double>(1 << 24);
  sqrt_kernel() {
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<double>(i);
  }
  std::size_t items() const { return in.size(); }
  void item(std::size_t i) { out[i] = std::sqrt(in[i]) * 1.000001; }
  long checksum() const {
    double s = 0;
    for (std::size_t i = 0; i < out.size(); i += 4096) s += out[i];
    return static_cast<long>(s);
  }
};

template <class K>
int pfor_bench(const char* name) {
  // oneTBB's thread count from TBB_NUM_THREADS, as OMP_NUM_THREADS and WEFT_COMPUTE_THREADS set the others.
  std::size_t tbb_threads = std::thread::hardware_concurrency();
  if (const char* env = std::getenv("TBB_NUM_THREADS")) tbb_threads = std::strtoul(env, nullptr, 10);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, tbb_threads);
  K k;
  std::size_t n = k.items();
  auto time = [&](const char* who, auto&& run) {
    auto start = steady::now();
    run();
    double ms = ns_since(start) / 1e6;
    std::printf("pfor %s %s ms=%.2f checksum=%ld\n", name, who, ms, k.checksum());
  };
  for (int rep = 0; rep < 3; ++rep) {  // interleaved, so that drift on a shared machine hits all alike
    time("weft", [&] { weft::parallel_for(0, n, [&](std::size_t i) { k.item(i); }); });
    time("tbb", [&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t i = r.begin(); i != r.end(); ++i) k.item(i);
      });
    });
    time("openmp", [&] {
      long long m = static_cast<long long>(n);
#pragma omp parallel for schedule(guided)
      for (long long i = 0; i < m; ++i) k.item(static_cast<std::size_t>(i));
    });
    time("serial", [&] {
      for (std::size_t i = 0; i < n; ++i) k.item(i);
    });
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::strcmp(argv[1], "spawn") == 0) {
    return spawn_bench(std::strtoul(argv[2], nullptr, 10), std::strtol(argv[3], nullptr, 10), std::strtol(argv[4], nullptr, 10));
  }
  if (argc >= 4 && std::strcmp(argv[1], "pingpong") == 0) {
    return pingpong_bench(std::strtoul(argv[2], nullptr, 10), std::strtol(argv[3], nullptr, 10));
  }
  if (argc >= 3 && std::strcmp(argv[1], "pfor") == 0) {
    if (std::strcmp(argv[2], "mandelbrot") == 0) return pfor_bench<mandelbrot>("mandelbrot");
    if (std::strcmp(argv[2], "sqrt") == 0) return pfor_bench<sqrt_kernel>("sqrt");
  }
  std::fprintf(stderr, "usage: parallel_bench spawn W P M | pingpong W N | pfor mandelbrot|sqrt\n");
  return 2;
}
