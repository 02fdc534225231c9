// weft::mpi::parallel_map over CPU-bound items: the wall time of the whole map at rank 0, to compare
// one rank against several (bench/mpi/run.sh runs it with WEFT_COMPUTE_THREADS=1, one core a rank).
//
//     mpirun -np 2 map_bench ITEMS
#include <weft/mpi.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

/// About 0.1 ms of arithmetic that the compiler cannot fold away.
double work(std::size_t i) {
  double x = static_cast<double>(i % 97) * 1e-3;
  for (int k = 0; k < 40000; ++k) x = x * 0.999999 + 1e-7 * static_cast<double>(k & 7);
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t items = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  weft::mpi::environment mpi(argc, argv);
  auto world = mpi.world();
  auto start = std::chrono::steady_clock::now();
  auto results = weft::run(weft::mpi::parallel_map(items, work));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (world.rank() == 0) {
    double checksum = 0;
    for (double r : results) checksum += r;
    std::printf("ranks=%d items=%zu seconds=%.3f checksum=%.6f\n", world.size(), items, s, checksum);
  }
  return 0;
}
