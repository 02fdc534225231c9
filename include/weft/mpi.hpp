// weft::mpi — MPI (Open MPI) on weft's loops: ranks that may be on separate computers, awaited like sockets.
//
//     int main(int argc, char** argv) {
//       weft::mpi::environment mpi(argc, argv);     // MPI_Init, on weft's MPI progress thread
//       auto world = mpi.world();
//       weft::run([&]() -> weft::task<void> {
//         std::vector<double> mine(1024, world.rank()), sums(1024);
//         co_await world.all_reduce(mine, sums, weft::mpi::reduce_op::sum);
//         auto squares = co_await weft::mpi::parallel_map(1'000'000, [](std::size_t i) { return i * i; });
//       }());
//     }
//
// Built only where MPI is found, as the CMake target weft::mpi (docs/mpi.md); the core library does not
// depend on MPI. Run the program with `mpirun -np N [--host a,b] program`.
//
// One thread owns MPI's progress. The environment starts it; it calls
// MPI_Init_thread(MPI_THREAD_SERIALIZED). An await first tries its operation on the spot: under the lock
// that serialises MPI calls, it starts it (MPI_Isend, MPI_Irecv, MPI_Ibarrier, ...) and tests it once,
// so a small send, or a receive whose message is there, ends without suspending. Otherwise the
// operation goes to the progress thread, which tests it until it completes and wakes the task on its
// own loop. The loops never poll MPI. The progress thread polls only while operations are in flight,
// spinning briefly and then sleeping in steps of up to 1 ms, so a rank waiting on a long barrier costs
// little CPU; when nothing is in flight it sleeps until an operation arrives. (Where MPI offers only
// MPI_THREAD_FUNNELED, the progress thread makes every call, and every operation goes to it.)
//
// Errors come back as weft::result errors in `mpi::category()` (MPI_ERRORS_RETURN is set on every
// communicator weft uses), with MPI's own text as their message.
//
// Cancellation (a cancelled task, or weft::timeout around an await):
// - probe, and any operation still queued for the progress thread, end at once with
//   errc::operation_canceled (timeout reports errc::timed_out).
// - recv is cancelled with MPI_Cancel. If MPI had matched a message already, the receive completes
//   and the await returns it: a message is never lost to a cancel.
// - send asks MPI_Cancel too, but Open MPI cannot cancel a send that has started, so the await usually
//   completes when the message has gone (small messages go at once; a large one waits for its receiver).
// - barrier, broadcast, reduce, all_reduce and gather cannot be cancelled: MPI forbids cancelling a
//   collective. The await waits on to the end and returns its outcome; the task meets its cancellation
//   at its next await point.
//
// Buffers: the spans passed to an operation must stay valid until its await returns (they are the
// awaiting task's locals in the examples above).
#pragma once

#include <mpi.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "weft/detail/context.hpp"
#include "weft/detail/promise_base.hpp"
#include "weft/error.hpp"
#include "weft/parallel.hpp"
#include "weft/task.hpp"

namespace weft::mpi {

/// The error category of MPI's error codes (message: MPI_Error_string's text).
const std::error_category& category() noexcept;

/// What a receive or a probe found.
struct status {
  int source = MPI_ANY_SOURCE;
  int tag = MPI_ANY_TAG;
  std::size_t bytes = 0;  // the message's size
  /// The message's size in elements of T.
  template <class T>
  std::size_t count() const noexcept {
    return bytes / sizeof(T);
  }
};

/// The reductions of reduce and all_reduce.
enum class reduce_op : unsigned char { sum, product, min, max };

namespace detail {

class engine;

enum class op_kind : unsigned char { send, recv, probe, barrier, broadcast, reduce, all_reduce, gather };
enum class op_state : unsigned char { idle, queued, started, done };

/// One MPI operation, in the awaiting task's frame; the progress thread starts and completes it.
struct op : weft::detail::cancel_waiter {
  op_kind kind = op_kind::send;
  const void* in = nullptr;
  void* out = nullptr;
  int count = 0;
  MPI_Datatype type = MPI_BYTE;
  reduce_op reduction = reduce_op::sum;
  int peer = 0;  // destination, source or root
  int tag = 0;
  MPI_Comm comm = MPI_COMM_NULL;

  // Guarded by the engine's lock until `done`; the progress thread alone touches `request`.
  op_state state = op_state::idle;
  bool cancel_asked = false;
  bool cancelled = false;
  bool armed = false;
  int error = MPI_SUCCESS;
  status found;
  MPI_Request request = MPI_REQUEST_NULL;
  std::coroutine_handle<> handle;
  weft::detail::context* ctx = nullptr;
  weft::detail::worker* home = nullptr;
  op* prev = nullptr;
  op* next = nullptr;
};

/// Hands `o` to the progress thread for the task `h`. False: it ended before suspending (the task was
/// cancelled already, or no environment is running); its outcome is set.
bool submit(op* o, std::coroutine_handle<> h, weft::detail::context* ctx) noexcept;
/// In await_resume: disarms cancellation; the outcome as a result.
result<void> finish(op* o) noexcept;
/// In the awaiter's destructor: a frame destroyed while its operation is in flight (runtime shutdown)
/// waits for MPI to let go of its buffers.
void abandon(op* o) noexcept;

template <class T>
MPI_Datatype datatype_of() noexcept {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, char>) return MPI_CHAR;
  else if constexpr (std::is_same_v<U, signed char>) return MPI_SIGNED_CHAR;
  else if constexpr (std::is_same_v<U, unsigned char>) return MPI_UNSIGNED_CHAR;
  else if constexpr (std::is_same_v<U, short>) return MPI_SHORT;
  else if constexpr (std::is_same_v<U, unsigned short>) return MPI_UNSIGNED_SHORT;
  else if constexpr (std::is_same_v<U, int>) return MPI_INT;
  else if constexpr (std::is_same_v<U, unsigned>) return MPI_UNSIGNED;
  else if constexpr (std::is_same_v<U, long>) return MPI_LONG;
  else if constexpr (std::is_same_v<U, unsigned long>) return MPI_UNSIGNED_LONG;
  else if constexpr (std::is_same_v<U, long long>) return MPI_LONG_LONG;
  else if constexpr (std::is_same_v<U, unsigned long long>) return MPI_UNSIGNED_LONG_LONG;
  else if constexpr (std::is_same_v<U, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<U, double>) return MPI_DOUBLE;
  else return MPI_DATATYPE_NULL;  // anything else travels as bytes
}

/// Elements of T as MPI counts them: T's own MPI type, or sizeof(T) bytes each.
template <class T>
void describe(op& o, std::size_t n) {
  static_assert(std::is_trivially_copyable_v<T>, "weft::mpi sends trivially copyable elements only");
  MPI_Datatype t = datatype_of<T>();
  o.type = t != MPI_DATATYPE_NULL ? t : MPI_BYTE;
  o.count = static_cast<int>(t != MPI_DATATYPE_NULL ? n : n * sizeof(T));
}

}  // namespace detail

/// The awaitable of one operation: `co_await` gives result<void> (send and the collectives) or
/// result<status> (recv, probe).
template <class R>
class [[nodiscard]] operation : detail::op {
 public:
  explicit operation(const detail::op& o) : detail::op(o) {}
  /// Moves an operation not yet awaited (timeout(awaitable) takes it by value).
  operation(operation&& other) noexcept : detail::op(static_cast<const detail::op&>(other)) {}
  operation& operator=(const operation&) = delete;
  ~operation() { detail::abandon(this); }

  bool await_ready() const noexcept { return false; }
  template <weft::detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    return detail::submit(this, h, h.promise().ctx);
  }
  result<R> await_resume() noexcept {
    result<void> r = detail::finish(this);
    if (!r) return fail(r.error());
    if constexpr (std::is_void_v<R>) {
      return {};
    } else {
      return found;
    }
  }
};

/// A group of ranks (an MPI communicator); world() is every rank of the job. Cheap to copy. Its
/// operations may be awaited from any task on any loop, concurrently.
class communicator {
 public:
  explicit communicator(MPI_Comm comm, int rank, int size) noexcept : comm_(comm), rank_(rank), size_(size) {}

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm native() const noexcept { return comm_; }

  /// Sends `data` (a contiguous range of trivially copyable elements) to rank `dest` with `tag`.
  template <std::ranges::contiguous_range Range>
  operation<void> send(const Range& data, int dest, int tag = 0) const {
    using T = std::ranges::range_value_t<Range>;
    detail::op o = base(detail::op_kind::send, dest, tag);
    o.in = std::ranges::data(data);
    detail::describe<T>(o, std::ranges::size(data));
    return operation<void>(o);
  }
  /// Receives into `into` (at most its size) from `source` (or MPI_ANY_SOURCE) with `tag` (or
  /// MPI_ANY_TAG); the status says who sent it and how many bytes came. A longer message is an error
  /// (MPI_ERR_TRUNCATE).
  template <std::ranges::contiguous_range Range>
  operation<status> recv(Range& into, int source = MPI_ANY_SOURCE, int tag = MPI_ANY_TAG) const {
    using T = std::ranges::range_value_t<Range>;
    detail::op o = base(detail::op_kind::recv, source, tag);
    o.out = std::ranges::data(into);
    detail::describe<T>(o, std::ranges::size(into));
    return operation<status>(o);
  }
  /// Waits for a message from `source` with `tag` without receiving it: its sender, tag and size.
  operation<status> probe(int source = MPI_ANY_SOURCE, int tag = MPI_ANY_TAG) const {
    return operation<status>(base(detail::op_kind::probe, source, tag));
  }
  /// Returns when every rank has called it.
  operation<void> barrier() const { return operation<void>(base(detail::op_kind::barrier, 0, 0)); }
  /// `data` at `root` is copied into `data` at every other rank (each passes a range of the same size).
  template <std::ranges::contiguous_range Range>
  operation<void> broadcast(Range& data, int root) const {
    using T = std::ranges::range_value_t<Range>;
    detail::op o = base(detail::op_kind::broadcast, root, 0);
    o.out = std::ranges::data(data);
    detail::describe<T>(o, std::ranges::size(data));
    return operation<void>(o);
  }
  /// out[i] = the reduction of every rank's in[i], at `root` (other ranks' `out` is untouched). T is an
  /// arithmetic type; `in` and `out` have the same size.
  template <std::ranges::contiguous_range In, std::ranges::contiguous_range Out>
  operation<void> reduce(const In& in, Out& out, reduce_op op, int root) const {
    return reduction(detail::op_kind::reduce, in, out, op, root);
  }
  /// reduce, with the result at every rank.
  template <std::ranges::contiguous_range In, std::ranges::contiguous_range Out>
  operation<void> all_reduce(const In& in, Out& out, reduce_op op) const {
    return reduction(detail::op_kind::all_reduce, in, out, op, 0);
  }
  /// Every rank's `in` (all the same size) side by side in `out` at `root`, in rank order; `out` holds
  /// size() × in's size elements there and is not used elsewhere.
  template <std::ranges::contiguous_range In, std::ranges::contiguous_range Out>
  operation<void> gather(const In& in, Out& out, int root) const {
    using T = std::ranges::range_value_t<In>;
    static_assert(std::is_same_v<T, std::ranges::range_value_t<Out>>, "gather: in and out hold the same type");
    detail::op o = base(detail::op_kind::gather, root, 0);
    o.in = std::ranges::data(in);
    o.out = std::ranges::data(out);
    detail::describe<T>(o, std::ranges::size(in));
    return operation<void>(o);
  }

 private:
  detail::op base(detail::op_kind kind, int peer, int tag) const noexcept {
    detail::op o;
    o.kind = kind;
    o.peer = peer;
    o.tag = tag;
    o.comm = comm_;
    return o;
  }
  template <class In, class Out>
  operation<void> reduction(detail::op_kind kind, const In& in, Out& out, reduce_op op, int root) const {
    using T = std::ranges::range_value_t<In>;
    static_assert(std::is_arithmetic_v<T> && std::is_same_v<T, std::ranges::range_value_t<Out>>,
                  "reduce: in and out hold the same arithmetic type");
    detail::op o = base(kind, root, 0);
    o.in = std::ranges::data(in);
    o.out = std::ranges::data(out);
    o.reduction = op;
    detail::describe<T>(o, std::ranges::size(in));
    return operation<void>(o);
  }

  MPI_Comm comm_;
  int rank_;
  int size_;
};

/// MPI for this process: starts the progress thread, which initialises MPI, and finalises it when
/// destroyed (after every operation has ended). One per process, for its whole life: MPI cannot be
/// initialised twice. Construct it before the runtime whose tasks use MPI, destroy it after.
class environment {
 public:
  /// Initialises MPI (MPI_Init_thread with the program's arguments). Throws std::runtime_error if MPI
  /// cannot start or an environment existed already.
  environment(int& argc, char**& argv);
  environment();
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  ~environment();

  /// Every rank of the job.
  communicator world() const noexcept;
  /// This machine's name as MPI knows it (MPI_Get_processor_name).
  const std::string& processor_name() const noexcept;
  /// True if this process was started by mpirun (Open MPI's, or a PMI launcher such as Slurm's srun).
  static bool launched_by_mpirun() noexcept;

 private:
  std::unique_ptr<detail::engine> engine_;
};

/// A failure on one rank, reported everywhere: parallel_map and for_each throw it on every rank when
/// `fn` threw on any.
class remote_error : public std::runtime_error {
 public:
  remote_error(int rank, const std::string& what)
      : std::runtime_error("rank " + std::to_string(rank) + ": " + what), rank_(rank) {}
  /// The rank whose `fn` failed (the lowest one to report, if several did).
  int rank() const noexcept { return rank_; }

 private:
  int rank_;
};

struct map_options {
  /// Items handed out at a time; 0: enough for about four handouts per rank.
  std::size_t chunk = 0;
};

namespace detail {

/// A distributed map with its element type erased: `run(first, last, out)` computes items [first, last)
/// into `out` (item_bytes each), on this rank's compute pool.
struct map_job {
  std::size_t items = 0;
  std::size_t item_bytes = 0;
  std::function<task<void>(std::size_t first, std::size_t last, std::byte* out)> run;
};
/// Runs `job` across every rank; at rank 0, `out` receives items × item_bytes bytes in order.
task<void> distributed_map(const map_job& job, std::vector<std::byte>& out, map_options options);

}  // namespace detail

/// fn(i) for every i in [0, n), across every rank of the job, each rank computing its chunks with its
/// local parallel_for; returns the n results in order at rank 0, and an empty vector at the others.
/// Chunks are handed out as ranks ask for them, so a faster rank computes more. Every rank calls it,
/// with the same n. The result type is trivially copyable (it travels as bytes). If fn throws on any
/// rank, no further chunks are handed out and every rank throws remote_error (rank and message).
template <class F, class R = std::invoke_result_t<F&, std::size_t>>
task<std::vector<R>> parallel_map(std::size_t n, F fn, map_options options = {}) {
  static_assert(std::is_trivially_copyable_v<R> && std::is_default_constructible_v<R>,
                "parallel_map: results travel as bytes, so their type is trivially copyable");
  detail::map_job job;
  job.items = n;
  job.item_bytes = sizeof(R);
  job.run = [&fn](std::size_t first, std::size_t last, std::byte* out) -> task<void> {
    co_await parallel_for_async(first, last, [&fn, first, out](std::size_t i) {
      R r = fn(i);
      std::memcpy(out + (i - first) * sizeof(R), &r, sizeof(R));
    });
  };
  std::vector<std::byte> bytes;
  co_await detail::distributed_map(job, bytes, options);
  std::vector<R> results(bytes.size() / sizeof(R));
  if (!bytes.empty()) std::memcpy(results.data(), bytes.data(), bytes.size());
  co_return results;
}

/// fn(i) for every i in [0, n), across every rank, as parallel_map without results.
template <class F>
task<void> for_each(std::size_t n, F fn, map_options options = {}) {
  detail::map_job job;
  job.items = n;
  job.item_bytes = 0;
  job.run = [&fn](std::size_t first, std::size_t last, std::byte*) -> task<void> {
    co_await parallel_for_async(first, last, [&fn](std::size_t i) { fn(i); });
  };
  std::vector<std::byte> none;
  co_await detail::distributed_map(job, none, options);
}

}  // namespace weft::mpi
