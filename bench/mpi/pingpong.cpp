// An 8-byte ping-pong between ranks 0 and 1: raw MPI (blocking MPI_Send/MPI_Recv on the main thread,
// Open MPI spinning inside them) against weft::mpi (a task on a loop awaiting send and recv, the
// progress thread making the calls). Prints the mean round trip over N exchanges after a warm-up.
//
//     mpirun -np 2 pingpong raw 100000
//     mpirun -np 2 pingpong weft 100000
#include <weft/mpi.hpp>
#include <weft/weft.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using clock_type = std::chrono::steady_clock;

double raw(int argc, char** argv, int n, int& rank) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::array<char, 8> buf{};
  clock_type::time_point start;
  for (int i = -n / 10; i < n; ++i) {  // a tenth of a warm-up first
    if (i == 0) start = clock_type::now();
    if (rank == 0) {
      MPI_Send(buf.data(), 8, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(buf.data(), 8, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
      MPI_Recv(buf.data(), 8, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buf.data(), 8, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
    }
  }
  double s = std::chrono::duration<double>(clock_type::now() - start).count();
  MPI_Finalize();
  return s;
}

weft::task<double> ping(weft::mpi::communicator comm, int n) {
  std::array<char, 8> buf{};
  clock_type::time_point start;
  for (int i = -n / 10; i < n; ++i) {
    if (i == 0) start = clock_type::now();
    bool ok = true;
    if (comm.rank() == 0) {
      ok = (co_await comm.send(buf, 1, 0)).has_value() && (co_await comm.recv(buf, 1, 0)).has_value();
    } else if (comm.rank() == 1) {
      ok = (co_await comm.recv(buf, 0, 0)).has_value() && (co_await comm.send(buf, 0, 0)).has_value();
    }
    if (!ok) {
      std::fprintf(stderr, "pingpong: an MPI operation failed\n");
      std::exit(1);
    }
  }
  co_return std::chrono::duration<double>(clock_type::now() - start).count();
}

double with_weft(int argc, char** argv, int n, int& rank) {
  weft::mpi::environment mpi(argc, argv);
  rank = mpi.world().rank();
  return weft::run(ping(mpi.world(), n));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "raw") != 0 && std::strcmp(argv[1], "weft") != 0)) {
    std::fprintf(stderr, "usage: mpirun -np 2 pingpong raw|weft EXCHANGES\n");
    return 2;
  }
  int n = std::atoi(argv[2]);
  int rank = 0;
  double s = std::strcmp(argv[1], "raw") == 0 ? raw(argc, argv, n, rank) : with_weft(argc, argv, n, rank);
  if (rank == 0) std::printf("%s exchanges=%d round_trip_us=%.3f\n", argv[1], n, s / n * 1e6);
  return 0;
}
