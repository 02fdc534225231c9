// The README's "In parallel" section, compiled: event loops on every core, a blocking read moved off
// them, a bounded channel between tasks, and a data-parallel loop that leaves its caller's loop free.
#include <weft/weft.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> read_lines() {  // plain blocking code
  std::vector<std::string> out;
  std::ifstream in("/etc/os-release");
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<double> load() {
  std::vector<double> xs(1'000'000);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<double>(i);
  return xs;
}

}  // namespace

int main() {
  weft::runtime_options options;
  options.workers = 0;  // one event loop per core
  weft::runtime rt(options);
  rt.block_on([]() -> weft::task<void> {
    weft::channel<std::string> lines(64);  // bounded: producers wait when it is full
    auto reader = weft::spawn([lines]() mutable -> weft::task<void> {
      for (auto& l : co_await weft::spawn_blocking(read_lines)) (void)co_await lines.send(l);  // blocking I/O off the loops
      lines.close();
    });
    std::size_t count = 0;
    for (;;) {
      auto l = co_await lines.receive();  // ends with errc::channel_closed
      if (!l) break;
      ++count;
    }
    co_await std::move(reader);
    std::vector<double> xs = load();
    co_await weft::parallel_for_async(xs, [](double& x) { x = std::sqrt(x); });  // all cores, this loop stays free
    double sum = co_await weft::parallel_reduce_async(xs, 0.0, [](double a, double b) { return a + b; });
    std::printf("%zu lines of /etc/os-release; sum of square roots of 0..999999 = %.0f\n", count, sum);
  }());
}
