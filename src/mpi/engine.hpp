// The thread that owns MPI (weft/mpi.hpp): it initialises MPI, starts every operation the loops hand it,
// tests them until they complete, wakes their tasks, and finalises MPI at the end.
#pragma once

#include <mpi.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "weft/detail/atomic.hpp"
#include "weft/mpi.hpp"

namespace weft::mpi::detail {

class engine {
 public:
  /// Starts the progress thread and waits until MPI is initialised; throws std::runtime_error if it
  /// could not be.
  engine(int* argc, char*** argv);
  /// Finalises MPI once no operation is queued or in flight, and joins the thread.
  ~engine();

  /// The running engine, or null.
  static engine* current() noexcept;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  const std::string& processor_name() const noexcept { return processor_name_; }
  /// A duplicate of MPI_COMM_WORLD for weft's own traffic (parallel_map), apart from the user's tags.
  communicator internal() const noexcept { return communicator(internal_, rank_, size_); }
  /// MPI's text for an error code (read at start-up: only the progress thread may call MPI).
  std::string error_text(int code) const;

  /// On the awaiting task's thread, where MPI allows it (MPI_THREAD_SERIALIZED): starts `o` and tests it
  /// once, under the lock that serialises MPI calls. True if it completed (its outcome is set); false if
  /// it is under way (`o->request`) or, a probe, found nothing yet, and goes to the progress thread.
  bool try_inline(op* o) noexcept;
  void submit(op* o) noexcept;
  /// op::on_cancel, on the waiting task's loop: true if `o` ends cancelled for sure.
  bool cancel(op* o) noexcept;
  /// The frame holding `o` is being destroyed while `o` is in flight: waits until MPI has let go of it.
  void abandon(op* o) noexcept;

 private:
  void run(int* argc, char*** argv);
  /// Starts `o` in MPI (MPI_Isend, MPI_Ibarrier, ...): an MPI error code.
  int begin(op* o, MPI_Request* req) noexcept;
  /// On the progress thread: starts `o` (or adopts the request try_inline started) and tracks it.
  void start(op* o) noexcept;
  /// Stores the outcome (and what the status says) into `o`.
  void record(op* o, int error, const MPI_Status* st) noexcept;
  void complete(op* o, int error, const MPI_Status* st) noexcept;
  void test_started();
  void test_probes();

  weft::detail::mutex lock_;
  // Serialises MPI calls between the progress thread and try_inline (with MPI_THREAD_SERIALIZED; under
  // FUNNELED only the progress thread calls MPI, and try_inline does nothing).
  weft::detail::mutex mpi_;
  bool serialized_ = false;
  weft::detail::condition_variable wake_;
  weft::detail::condition_variable ready_;
  bool initialised_ = false;
  std::string init_error_;
  bool stop_ = false;
  bool sleeping_ = false;
  std::vector<op*> queued_;   // handed over, not started (guarded by lock_)
  std::vector<op*> cancels_;  // started, cancel asked (guarded by lock_)

  // The progress thread's own.
  std::vector<op*> started_;
  std::vector<MPI_Request> requests_;  // started_[i]'s request
  std::vector<op*> probes_;
  std::vector<int> indices_;                 // test_started's MPI_Testsome results
  std::vector<MPI_Status> statuses_;
  std::vector<std::pair<int, int>> order_;

  int rank_ = 0;
  int size_ = 1;
  std::string processor_name_;
  std::vector<std::string> error_texts_;
  MPI_Comm internal_ = MPI_COMM_NULL;
  weft::detail::thread thread_;
};

}  // namespace weft::mpi::detail
