// A million sleepers: N tasks each sleep until a random deadline in [0, 1 s]; report the time from the
// start until the last one wakes, and the process's peak RSS. One runtime per process, so RSS is its own.
//
//   bench_timers weft [N]     weft: N spawned tasks, each `co_await sleep_until(deadline)`
//   bench_timers asio [N]     Asio: N steady_timers, each async_wait
//
// Prints one line: `<name> n=<N> last_wake_ms=<ms> peak_rss_mb=<MB>`.
#include <weft/weft.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace {

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

std::vector<std::chrono::nanoseconds> deadlines(long n) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> d(0, 1'000'000'000);
  std::vector<std::chrono::nanoseconds> out(static_cast<std::size_t>(n));
  for (auto& x : out) x = std::chrono::nanoseconds(d(rng));
  return out;
}

double run_weft(long n) {
  auto offsets = deadlines(n);
  auto body = [&]() -> weft::task<double> {
    auto start = weft::clock::now();
    long woke = 0;
    weft::clock::time_point last{};
    {
      weft::task_group group;
      for (long i = 0; i < n; ++i) {
        group.spawn([&woke, &last, at = start + offsets[static_cast<std::size_t>(i)]]() -> weft::task<void> {
          co_await weft::sleep_until(at);
          ++woke;
          last = weft::clock::now();
        });
      }
      co_await group.join();
    }
    if (woke != n) std::abort();
    co_return std::chrono::duration<double, std::milli>(last - start).count();
  };
  return weft::run(body());
}

double run_asio(long n) {
  auto offsets = deadlines(n);
  boost::asio::io_context ctx(1);
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  timers.reserve(static_cast<std::size_t>(n));
  auto start = std::chrono::steady_clock::now();
  long woke = 0;
  std::chrono::steady_clock::time_point last{};
  for (long i = 0; i < n; ++i) {
    auto t = std::make_unique<boost::asio::steady_timer>(ctx, start + offsets[static_cast<std::size_t>(i)]);
    t->async_wait([&woke, &last](const boost::system::error_code&) {
      ++woke;
      last = std::chrono::steady_clock::now();
    });
    timers.push_back(std::move(t));
  }
  ctx.run();
  if (woke != n) std::abort();
  return std::chrono::duration<double, std::milli>(last - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "weft") != 0 && std::strcmp(argv[1], "asio") != 0)) {
    std::fprintf(stderr, "usage: bench_timers weft|asio [N=1000000]\n");
    return 2;
  }
  long n = argc > 2 ? std::atol(argv[2]) : 1'000'000;
  double ms = std::strcmp(argv[1], "weft") == 0 ? run_weft(n) : run_asio(n);
  std::printf("%s n=%ld last_wake_ms=%.1f peak_rss_mb=%.1f\n", argv[1], n, ms, peak_rss_mb());
}
