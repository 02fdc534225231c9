// Data parallelism on the compute pool: one worker per core, work stealing, grain chosen for you.
//
//     std::vector<double> xs = ...;
//     weft::parallel_for(xs, [](double& x) { x = std::sqrt(x); });                 // plain code: blocks
//     double sum = weft::parallel_reduce(xs, 0.0, std::plus<>{});
//     co_await weft::parallel_for_async(0, rows, [&](std::size_t y) { render(y); });   // from a task
//
// The range is cut into chunks (32 per compute worker, so that uneven work evens out). One runner task
// per compute worker goes to the compute pool (src/parallel/compute_pool.hpp), where idle workers steal
// them, and each runner claims chunk after chunk until none is left. A plain call's thread waits (it
// does not join in: with one runner per core that would put one thread too many on the cores); the
// _async forms suspend the calling task instead, so its loop goes on serving other tasks.
//
// Exceptions: the first one thrown by `fn` is rethrown to the caller once every chunk has stopped;
// chunks not yet started are skipped. Cancellation (the _async forms): chunks not yet started are
// skipped, the await waits for running ones (they use the caller's `fn`), then throws
// std::system_error(errc::operation_canceled).
//
// Called from a compute-pool worker itself (parallel code nested in parallel code), the blocking forms
// run the range on the calling thread: waiting there could leave every worker waiting.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <utility>
#include <vector>

#include "weft/detail/atomic.hpp"
#include "weft/sync/event.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

/// One parallel call, shared by its chunks and its caller.
struct parallel_job {
  using chunk_fn = void (*)(const void* body, std::size_t chunk, std::size_t begin, std::size_t end);

  std::size_t count = 0;
  std::size_t chunk_size = 1;
  std::size_t chunks = 0;
  std::size_t runners = 0;
  weft::detail::atomic<std::size_t> next_chunk{0};
  chunk_fn run = nullptr;
  const void* body = nullptr;
  const context* caller = nullptr;  // _async: the awaiting task's, read between chunks
  weft::detail::atomic<std::size_t> remaining{0};
  weft::detail::atomic<bool> failed{false};
  std::exception_ptr error;  // written once, by the chunk that set `failed`
  weft::detail::atomic<std::uint32_t> finished{0};
  event done;
  /// When each chunk ran and on which compute thread (steady-clock ns; end 0: not run): filled only
  /// for an _async job whose caller is traced, for the trace's compute tracks.
  struct chunk_time {
    std::int64_t start = 0, end = 0;
    std::uint32_t thread = 0;
  };
  std::vector<chunk_time> times;
  weft::detail::atomic<std::uint32_t> refs{1};  // job_ref's count
};

/// A counted reference to a parallel_job: the caller's, and each runner's until it has signalled.
/// Not a std::shared_ptr: its count is an atomic the model build cannot see, and the job's free must
/// be ordered after every runner's last touch, which the models check (runtime/shutdown_...).
class job_ref {
 public:
  job_ref() noexcept = default;
  static job_ref make() { return job_ref(new parallel_job); }
  job_ref(const job_ref& o) noexcept : j_(o.j_) {
    if (j_ != nullptr) j_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  job_ref(job_ref&& o) noexcept : j_(std::exchange(o.j_, nullptr)) {}
  job_ref& operator=(job_ref o) noexcept {
    std::swap(j_, o.j_);
    return *this;
  }
  // ordering: acq_rel, so that the free comes after every other holder's accesses.
  ~job_ref() {
    if (j_ != nullptr && j_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete j_;
  }
  parallel_job* operator->() const noexcept { return j_; }
  parallel_job& operator*() const noexcept { return *j_; }

 private:
  explicit job_ref(parallel_job* j) noexcept : j_(j) {}
  parallel_job* j_ = nullptr;
};

/// Sets `count`, the chunking, the runners and `remaining` (the runners) for `count` items.
void parallel_plan(parallel_job& job, std::size_t count);
/// Runs every chunk of `job` on the compute pool and waits (this thread blocks).
void parallel_run(const job_ref& job);
/// Runs every chunk of `job` on the compute pool; the awaiting task resumes when all are done.
task<void> parallel_run_async(job_ref job);

template <class Body>
void run_chunk(const void* body, std::size_t chunk, std::size_t begin, std::size_t end) {
  (*static_cast<const Body*>(body))(chunk, begin, end);
}

template <class Body>
job_ref make_job(std::size_t count, const Body& body) {
  job_ref job = job_ref::make();
  parallel_plan(*job, count);
  job->run = &run_chunk<Body>;
  job->body = &body;
  return job;
}

template <class R>
concept indexable_range = std::ranges::random_access_range<R> && std::ranges::sized_range<R>;

/// The chunk body of parallel_for over indices: fn(first + i) for the chunk's i.
template <class F>
auto each_index(F& fn, std::size_t first) {
  return [&fn, first](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = first + b; i < first + e; ++i) fn(i);
  };
}

/// The chunk body of parallel_for over a range: fn(it[i]) for the chunk's i.
template <class F, class It>
auto each_element(F& fn, It it) {
  return [&fn, it](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) fn(it[static_cast<std::ptrdiff_t>(i)]);
  };
}

/// parallel_reduce's state, shared by its blocking and awaitable forms: each chunk folds its part into
/// its own slot; combine() folds the slots in order.
template <class R, class T, class Reduce, class Map>
struct reduction {
  reduction(R& range, Reduce& reduce, Map& map) : it(std::ranges::begin(range)), reduce_(reduce), map_(map) {
    job = make_job(std::ranges::size(range), body);
    partial.resize(job->chunks);
  }
  reduction(const reduction&) = delete;
  reduction& operator=(const reduction&) = delete;

  T combine(T init) {
    for (auto& p : partial) init = reduce_(std::move(init), std::move(*p));
    return init;
  }

  std::ranges::iterator_t<R> it;
  Reduce& reduce_;
  Map& map_;
  std::vector<std::optional<T>> partial;
  struct chunk_body {
    reduction* self;
    void operator()(std::size_t chunk, std::size_t b, std::size_t e) const {
      auto at = [&](std::size_t i) { return self->map_(self->it[static_cast<std::ptrdiff_t>(i)]); };
      T acc = at(b);
      for (std::size_t i = b + 1; i < e; ++i) acc = self->reduce_(std::move(acc), at(i));
      self->partial[chunk].emplace(std::move(acc));
    }
  } body{this};
  job_ref job;
};

}  // namespace detail

/// Calls `fn(i)` for every i in [first, last), in parallel. Blocks until all calls are done.
template <class F>
void parallel_for(std::size_t first, std::size_t last, F&& fn) {
  if (last <= first) return;
  auto body = detail::each_index(fn, first);
  detail::parallel_run(detail::make_job(last - first, body));
}

/// Calls `fn(element)` for every element of a random-access range, in parallel. Blocks.
template <detail::indexable_range R, class F>
void parallel_for(R&& range, F&& fn) {
  auto it = std::ranges::begin(range);
  auto body = detail::each_element(fn, it);
  detail::parallel_run(detail::make_job(std::ranges::size(range), body));
}

/// out[i] = fn(in[i]) for every element, in parallel; `out` is a random-access iterator with room for
/// size(in) elements. Blocks.
template <detail::indexable_range R, std::random_access_iterator Out, class F>
void parallel_transform(R&& in, Out out, F&& fn) {
  auto it = std::ranges::begin(in);
  auto body = [&fn, it, out](std::size_t, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      auto k = static_cast<std::ptrdiff_t>(i);
      out[k] = fn(it[k]);
    }
  };
  detail::parallel_run(detail::make_job(std::ranges::size(in), body));
}

/// Folds `map(element)` over the range with `reduce`, starting from `init`, in parallel: each chunk
/// folds its part, then the chunks' results are folded in order. `reduce` must be associative.
/// Blocks.
template <detail::indexable_range R, class T, class Reduce, class Map = std::identity>
T parallel_reduce(R&& range, T init, Reduce reduce, Map map = {}) {
  if (std::ranges::size(range) == 0) return init;
  detail::reduction<R, T, Reduce, Map> r(range, reduce, map);
  detail::parallel_run(r.job);
  return r.combine(std::move(init));
}

/// parallel_for(first, last, fn) from a task: suspends it instead of blocking its loop.
template <class F>
task<void> parallel_for_async(std::size_t first, std::size_t last, F fn) {
  if (last <= first) co_return;
  auto body = detail::each_index(fn, first);
  co_await detail::parallel_run_async(detail::make_job(last - first, body));
}

/// parallel_for(range, fn) from a task. The range must outlive the await.
template <detail::indexable_range R, class F>
task<void> parallel_for_async(R& range, F fn) {
  auto it = std::ranges::begin(range);
  auto body = detail::each_element(fn, it);
  co_await detail::parallel_run_async(detail::make_job(std::ranges::size(range), body));
}

/// parallel_reduce from a task. The range must outlive the await.
template <detail::indexable_range R, class T, class Reduce, class Map = std::identity>
task<T> parallel_reduce_async(R& range, T init, Reduce reduce, Map map = {}) {
  if (std::ranges::size(range) == 0) co_return init;
  detail::reduction<R&, T, Reduce, Map> r(range, reduce, map);
  co_await detail::parallel_run_async(r.job);
  co_return r.combine(std::move(init));
}

}  // namespace weft
