// parallel_map and for_each across ranks (weft/mpi.hpp): rank 0 hands out chunks as ranks ask for them
// and computes chunks of its own meanwhile; every rank computes its chunks on its local compute pool.
//
// On weft's own communicator (a duplicate of the world's, so the user's tags never meet these):
//   rank r → 0, tag `report`: a head {first, last, failed} and then the chunk's results (or, failed,
//       the error's text). The first report of a rank carries no chunk: it asks for one.
//   0 → rank r, tag `assign`: the next chunk {first, last}; an empty one means there is no more.
// Rank 0 receives reports in any order (probe for the size, then receive that message), and copies
// each chunk's results to their place. At the end rank 0 broadcasts the outcome, so that every rank
// returns, or throws the same remote_error.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>

#include "weft/detail/atomic.hpp"
#include "mpi/engine.hpp"
#include "weft/spawn.hpp"
#include "weft/mpi.hpp"

namespace weft::mpi::detail {
namespace {

constexpr int report_tag = 1;
constexpr int assign_tag = 2;

struct report_head {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::int64_t failed = 0;
};

template <class T>
T checked(result<T> r, const char* what) {
  if (!r) throw std::system_error(r.error(), std::string("weft::mpi::parallel_map: ") + what);
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

/// What rank 0's two tasks share: the next item to hand out, and the first failure.
struct map_state {
  map_state(const map_job& j, std::vector<std::byte>& o, std::size_t c) : job(j), out(o), chunk(c) {}

  const map_job& job;
  std::vector<std::byte>& out;
  std::size_t chunk;
  weft::detail::atomic<std::size_t> next{0};
  weft::detail::atomic<bool> failed{false};
  weft::detail::mutex lock;  // guards the two below
  int failed_rank = -1;
  std::string failure;

  /// The next chunk to compute, or an empty one once all are handed out or one failed.
  std::array<std::int64_t, 2> take() {
    if (failed.load()) return {0, 0};
    std::size_t first = next.fetch_add(chunk);
    if (first >= job.items) return {0, 0};
    return {static_cast<std::int64_t>(first), static_cast<std::int64_t>(std::min(first + chunk, job.items))};
  }
  void fail(int rank, std::string what) {
    std::lock_guard guard(lock);
    if (failed_rank < 0 || rank < failed_rank) {
      failed_rank = rank;
      failure = std::move(what);
    }
    failed.store(true);
  }
};

/// Computes chunks [first, last) into `into` (item_bytes each); the exception's text if fn threw.
task<std::optional<std::string>> compute(const map_job& job, std::int64_t first, std::int64_t last, std::byte* into) {
  std::exception_ptr error;
  try {
    co_await job.run(static_cast<std::size_t>(first), static_cast<std::size_t>(last), into);
  } catch (...) {
    error = std::current_exception();
  }
  if (error) co_return exception_message(error);
  co_return std::nullopt;
}

/// Rank 0's own share: chunks taken directly, computed while the coordinator serves the other ranks.
task<void> compute_at_root(map_state& st) {
  for (auto range = st.take(); range[0] < range[1]; range = st.take()) {
    auto error = co_await compute(st.job, range[0], range[1], st.out.data() + range[0] * st.job.item_bytes);
    if (error) st.fail(0, std::move(*error));
  }
}

/// Rank 0: answers every other rank's reports until each has been told there is no more.
task<void> coordinate(map_state& st, communicator comm) {
  int active = comm.size() - 1;
  std::vector<std::byte> buffer;
  while (active > 0) {
    status found = checked(co_await comm.probe(MPI_ANY_SOURCE, report_tag), "probe");
    buffer.resize(found.bytes);
    checked(co_await comm.recv(buffer, found.source, report_tag), "receive");
    report_head head;
    if (buffer.size() < sizeof head) throw std::runtime_error("weft::mpi::parallel_map: a short report");
    std::memcpy(&head, buffer.data(), sizeof head);
    const std::byte* payload = buffer.data() + sizeof head;
    std::size_t payload_bytes = buffer.size() - sizeof head;
    if (head.failed != 0) {
      st.fail(found.source, std::string(reinterpret_cast<const char*>(payload), payload_bytes));
    } else if (head.last > head.first) {
      std::memcpy(st.out.data() + head.first * st.job.item_bytes, payload, payload_bytes);
    }
    std::array<std::int64_t, 2> next = st.take();
    if (next[0] >= next[1]) --active;
    checked(co_await comm.send(next, found.source, assign_tag), "send");
  }
}

/// Any other rank: asks for chunks and sends back their results until told there is no more.
task<void> work_for_root(const map_job& job, communicator comm) {
  std::vector<std::byte> report(sizeof(report_head));
  report_head head;
  for (;;) {
    std::memcpy(report.data(), &head, sizeof head);
    checked(co_await comm.send(report, 0, report_tag), "send");
    std::array<std::int64_t, 2> range{};
    checked(co_await comm.recv(range, 0, assign_tag), "receive");
    if (range[0] >= range[1]) break;
    head = {range[0], range[1], 0};
    report.resize(sizeof head + static_cast<std::size_t>(range[1] - range[0]) * job.item_bytes);
    auto error = co_await compute(job, range[0], range[1], report.data() + sizeof head);
    if (error) {
      head.failed = 1;
      report.resize(sizeof head + error->size());
      std::memcpy(report.data() + sizeof head, error->data(), error->size());
    }
  }
}

}  // namespace

task<void> distributed_map(const map_job& job, std::vector<std::byte>& out, map_options options) {
  engine* e = engine::current();
  if (e == nullptr) throw std::runtime_error("weft::mpi::parallel_map: no weft::mpi::environment is running");
  communicator comm = e->internal();
  std::size_t chunk = options.chunk != 0 ? options.chunk
                                         : std::max<std::size_t>(1, job.items / (4 * static_cast<std::size_t>(comm.size())));
  std::array<std::int64_t, 2> outcome{-1, 0};  // the failed rank (or -1), its message's length
  std::string failure;
  if (comm.rank() == 0) {
    out.assign(job.items * job.item_bytes, std::byte{0});
    map_state st(job, out, chunk);
    auto coordinator = spawn(coordinate(st, comm));
    co_await compute_at_root(st);
    co_await std::move(coordinator);
    outcome = {st.failed_rank, static_cast<std::int64_t>(st.failure.size())};
    failure = std::move(st.failure);
  } else {
    co_await work_for_root(job, comm);
  }
  // Every rank learns the outcome, so that all of them return or all throw.
  checked(co_await comm.broadcast(outcome, 0), "broadcast");
  if (outcome[0] >= 0) {
    failure.resize(static_cast<std::size_t>(outcome[1]));
    if (!failure.empty()) checked(co_await comm.broadcast(failure, 0), "broadcast");
    throw remote_error(static_cast<int>(outcome[0]), failure);
  }
}

}  // namespace weft::mpi::detail
