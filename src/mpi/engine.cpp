#include "mpi/engine.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/coop.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "weft/detail/suspend_reason.hpp"
#include "weft/detail/sync_waiter.hpp"

namespace weft::mpi {

namespace detail {
namespace {

weft::detail::atomic<engine*> running{nullptr};

/// Backs off while operations are in flight and none completes: spins first (a reply in a ping-pong
/// comes within microseconds), then yields, then sleeps in growing steps up to 1 ms (a rank waiting on a
/// long barrier or a slow peer costs next to no CPU).
constexpr int spin_rounds = 2000;
constexpr int yield_rounds = 200;
constexpr auto longest_sleep = std::chrono::microseconds(1000);

MPI_Op native(reduce_op op) noexcept {
  switch (op) {
    case reduce_op::sum: return MPI_SUM;
    case reduce_op::product: return MPI_PROD;
    case reduce_op::min: return MPI_MIN;
    case reduce_op::max: return MPI_MAX;
  }
  return MPI_SUM;
}

bool on_cancel(weft::detail::cancel_waiter* w) noexcept {
  engine* e = engine::current();
  return e != nullptr && e->cancel(static_cast<op*>(w));
}

/// Whether the operation's completion says something (sender, tag, size, cancelled): the point-to-point
/// ones. A collective's status is undefined in MPI.
bool carries_status(op_kind kind) noexcept {
  return kind == op_kind::send || kind == op_kind::recv || kind == op_kind::probe;
}

void remove_from(std::vector<op*>& list, op* o) noexcept {
  auto it = std::find(list.begin(), list.end(), o);
  if (it != list.end()) list.erase(it);
}

}  // namespace

engine::engine(int* argc, char*** argv) {
  engine* none = nullptr;
  if (!running.compare_exchange_strong(none, this)) {
    throw std::runtime_error("weft::mpi: an environment exists already (MPI initialises once per process)");
  }
  thread_ = weft::detail::thread([this, argc, argv] { run(argc, argv); });
  std::unique_lock guard(lock_);
  ready_.wait(guard, [&] { return initialised_ || !init_error_.empty(); });
  if (!initialised_) {
    guard.unlock();
    thread_.join();
    running.store(nullptr);
    throw std::runtime_error("weft::mpi: " + init_error_);
  }
}

engine::~engine() {
  {
    std::lock_guard guard(lock_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  running.store(nullptr);
}

engine* engine::current() noexcept { return running.load(std::memory_order_acquire); }

std::string engine::error_text(int code) const {
  if (code >= 0 && static_cast<std::size_t>(code) < error_texts_.size()) return error_texts_[code];
  return "MPI error " + std::to_string(code);
}

void engine::submit(op* o) noexcept {
  bool notify;
  {
    std::lock_guard guard(lock_);
    // One that try_inline started is under way already: cancelling it takes MPI_Cancel.
    o->state = o->request != MPI_REQUEST_NULL ? op_state::started : op_state::queued;
    queued_.push_back(o);
    notify = sleeping_;
  }
  if (notify) wake_.notify_one();
}

bool engine::cancel(op* o) noexcept {
  std::unique_lock guard(lock_);
  switch (o->state) {
    case op_state::queued:
      remove_from(queued_, o);
      o->state = op_state::done;
      o->cancelled = true;
      guard.unlock();
      weft::detail::schedule(o->handle, o->ctx);  // cancellation runs on the task's own loop
      return true;
    case op_state::started:
      if (o->cancel_asked) return false;
      o->cancel_asked = true;
      cancels_.push_back(o);
      // A probe ends cancelled for sure (the progress thread checks cancel_asked before it reports a
      // match); a send or receive may complete anyway, and then keeps its outcome.
      return o->kind == op_kind::probe;
    default:
      return false;
  }
}

void engine::abandon(op* o) noexcept {
  {
    std::lock_guard guard(lock_);
    if (o->state == op_state::queued) {
      remove_from(queued_, o);
      o->state = op_state::done;
      return;
    }
    if (o->state != op_state::started) return;
    o->handle = {};  // nobody to wake
    if (!o->cancel_asked) {
      o->cancel_asked = true;
      cancels_.push_back(o);
    }
  }
  for (;;) {
    {
      std::lock_guard guard(lock_);
      if (o->state == op_state::done) return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

int engine::begin(op* o, MPI_Request* req) noexcept {
  switch (o->kind) {
    case op_kind::send: return MPI_Isend(o->in, o->count, o->type, o->peer, o->tag, o->comm, req);
    case op_kind::recv: return MPI_Irecv(o->out, o->count, o->type, o->peer, o->tag, o->comm, req);
    case op_kind::probe: return MPI_SUCCESS;  // nothing to start: probes are tested with MPI_Iprobe
    case op_kind::barrier: return MPI_Ibarrier(o->comm, req);
    case op_kind::broadcast: return MPI_Ibcast(o->out, o->count, o->type, o->peer, o->comm, req);
    case op_kind::reduce:
      return MPI_Ireduce(o->in, o->out, o->count, o->type, native(o->reduction), o->peer, o->comm, req);
    case op_kind::all_reduce:
      return MPI_Iallreduce(o->in, o->out, o->count, o->type, native(o->reduction), o->comm, req);
    case op_kind::gather:
      return MPI_Igather(o->in, o->count, o->type, o->out, o->count, o->type, o->peer, o->comm, req);
  }
  return MPI_ERR_OTHER;
}

void engine::start(op* o) noexcept {
  if (o->kind == op_kind::probe) {
    probes_.push_back(o);
    return;
  }
  MPI_Request req = o->request;  // started already by try_inline: adopted as it is
  if (req == MPI_REQUEST_NULL) {
    int rc = begin(o, &req);
    if (rc != MPI_SUCCESS) {
      complete(o, rc, nullptr);
      return;
    }
  }
  started_.push_back(o);
  requests_.push_back(req);
}

bool engine::try_inline(op* o) noexcept {
  if (!serialized_) return false;
  std::lock_guard calls(mpi_);
  int flag = 0;
  MPI_Status st;
  int rc;
  if (o->kind == op_kind::probe) {
    rc = MPI_Iprobe(o->peer, o->tag, o->comm, &flag, &st);
  } else {
    MPI_Request req = MPI_REQUEST_NULL;
    rc = begin(o, &req);
    if (rc == MPI_SUCCESS) {
      rc = MPI_Test(&req, &flag, &st);
      if (rc == MPI_SUCCESS && flag == 0) {
        o->request = req;  // under way: the progress thread adopts it
        return false;
      }
    }
  }
  if (rc == MPI_SUCCESS && flag == 0) return false;  // a probe that found nothing yet
  record(o, rc, rc == MPI_SUCCESS && carries_status(o->kind) ? &st : nullptr);
  o->state = op_state::done;
  return true;
}

void engine::record(op* o, int error, const MPI_Status* st) noexcept {
  o->error = error;
  if (st == nullptr || error != MPI_SUCCESS) return;
  int cancelled = 0;
  MPI_Test_cancelled(st, &cancelled);
  int bytes = 0;
  MPI_Get_count(st, MPI_BYTE, &bytes);
  o->found.source = st->MPI_SOURCE;
  o->found.tag = st->MPI_TAG;
  o->found.bytes = static_cast<std::size_t>(std::max(bytes, 0));
  o->cancelled = cancelled != 0;
}

void engine::complete(op* o, int error, const MPI_Status* st) noexcept {
  record(o, error, st);
  std::coroutine_handle<> h;
  weft::detail::context* ctx;
  weft::detail::worker* home;
  {
    std::lock_guard guard(lock_);
    if (o->cancel_asked) remove_from(cancels_, o);
    if (o->kind == op_kind::probe && o->cancel_asked) o->cancelled = true;  // as cancel() promised
    h = o->handle;
    ctx = o->ctx;
    home = o->home;
    o->state = op_state::done;  // from here the task may run and free `o`
  }
  if (h) weft::detail::wake_on(home, h, ctx);
}

void engine::test_started() {
  if (started_.empty()) return;
  // The buffers are the thread's own, kept between turns: this runs on every turn of the poll.
  std::size_t n = requests_.size();
  indices_.resize(n);
  statuses_.resize(n);
  int done = 0;
  int rc = MPI_Testsome(static_cast<int>(n), requests_.data(), &done, indices_.data(), statuses_.data());
  if (done == MPI_UNDEFINED || done <= 0) return;
  // Highest index first, so that removing one (swap with the last) does not move one still to visit.
  order_.clear();
  for (int k = 0; k < done; ++k) order_.emplace_back(indices_[static_cast<std::size_t>(k)], k);
  std::sort(order_.rbegin(), order_.rend());
  for (auto [i, k] : order_) {
    op* o = started_[static_cast<std::size_t>(i)];
    const MPI_Status& st = statuses_[static_cast<std::size_t>(k)];
    int error = rc == MPI_ERR_IN_STATUS ? st.MPI_ERROR : MPI_SUCCESS;
    started_[static_cast<std::size_t>(i)] = started_.back();
    requests_[static_cast<std::size_t>(i)] = requests_.back();
    started_.pop_back();
    requests_.pop_back();
    complete(o, error, carries_status(o->kind) ? &st : nullptr);
  }
}

void engine::test_probes() {
  for (std::size_t i = 0; i < probes_.size();) {
    op* o = probes_[i];
    int flag = 0;
    MPI_Status st;
    int rc = MPI_Iprobe(o->peer, o->tag, o->comm, &flag, &st);
    bool cancelled;
    {
      std::lock_guard guard(lock_);
      cancelled = o->cancel_asked;
    }
    if (rc != MPI_SUCCESS || flag != 0 || cancelled) {
      probes_[i] = probes_.back();
      probes_.pop_back();
      complete(o, rc, flag != 0 && !cancelled ? &st : nullptr);
    } else {
      ++i;
    }
  }
}

void engine::run(int* argc, char*** argv) {
  int provided = 0;
  int rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
  serialized_ = rc == MPI_SUCCESS && provided >= MPI_THREAD_SERIALIZED;
  if (rc != MPI_SUCCESS || provided < MPI_THREAD_FUNNELED) {
    std::lock_guard guard(lock_);
    init_error_ = rc != MPI_SUCCESS ? "MPI_Init_thread failed" : "this MPI cannot run on a thread of its own (MPI_THREAD_FUNNELED)";
    ready_.notify_all();
    return;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm_dup(MPI_COMM_WORLD, &internal_);
  MPI_Comm_set_errhandler(internal_, MPI_ERRORS_RETURN);
  char name[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  MPI_Get_processor_name(name, &length);
  processor_name_.assign(name, static_cast<std::size_t>(std::max(length, 0)));
  for (int code = 0; code <= MPI_ERR_LASTCODE; ++code) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, text, &n) != MPI_SUCCESS) n = 0;
    error_texts_.emplace_back(text, static_cast<std::size_t>(std::max(n, 0)));
  }
  {
    std::lock_guard guard(lock_);
    initialised_ = true;
  }
  ready_.notify_all();

  std::vector<op*> fresh;
  std::vector<op*> to_cancel;
  int idle = 0;
  for (;;) {
    {
      std::unique_lock guard(lock_);
      bool in_flight = !started_.empty() || !probes_.empty();
      if (queued_.empty() && cancels_.empty()) {
        if (!in_flight && stop_) break;
        if (!in_flight || idle > spin_rounds + yield_rounds) {
          // Nothing to test, or nothing completed for a while: sleep until an operation comes (or, with
          // some in flight, for a growing step).
          sleeping_ = true;
          if (!in_flight) {
            wake_.wait(guard, [&] { return stop_ || !queued_.empty(); });
          } else {
            int step = std::min(idle - spin_rounds - yield_rounds, 10);
            wake_.wait_for(guard, std::min<std::chrono::microseconds>(longest_sleep, std::chrono::microseconds(2 << step)));
          }
          sleeping_ = false;
        }
      }
      fresh.swap(queued_);
      for (op* o : fresh) o->state = op_state::started;
      to_cancel.clear();
      to_cancel.swap(cancels_);  // each cancel is asked of MPI once (one started inline is adopted first, above)
    }
    bool progress = !fresh.empty();
    std::unique_lock calls(mpi_, std::defer_lock);
    if (serialized_) calls.lock();
    for (op* o : fresh) start(o);
    fresh.clear();
    for (op* o : to_cancel) {
      auto it = std::find(started_.begin(), started_.end(), o);
      if (it != started_.end() && (o->kind == op_kind::send || o->kind == op_kind::recv)) {
        MPI_Cancel(&requests_[static_cast<std::size_t>(it - started_.begin())]);
      }
    }
    std::size_t before = started_.size() + probes_.size();
    test_started();
    test_probes();
    if (calls.owns_lock()) calls.unlock();
    if (started_.size() + probes_.size() < before) progress = true;
    if (progress) {
      idle = 0;
    } else if (++idle > spin_rounds && idle <= spin_rounds + yield_rounds) {
      std::this_thread::yield();
    }
  }
  MPI_Comm_free(&internal_);
  MPI_Finalize();
}

}  // namespace detail

namespace {

class mpi_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "mpi"; }
  std::string message(int code) const override {
    detail::engine* e = detail::engine::current();
    return e != nullptr ? e->error_text(code) : "MPI error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const mpi_category_impl instance;
  return instance;
}

namespace detail {

bool submit(op* o, std::coroutine_handle<> h, weft::detail::context* ctx) noexcept {
  engine* e = engine::current();
  if (e == nullptr) {
    o->error = MPI_ERR_OTHER;
    o->state = op_state::done;
    return false;
  }
  bool collective = o->kind != op_kind::send && o->kind != op_kind::recv && o->kind != op_kind::probe;
  if (!collective && ctx->cut_if_cancelled()) {
    o->cancelled = true;
    o->state = op_state::done;
    return weft::detail::yield_if_budget_spent(h, ctx);
  }
  if (e->try_inline(o)) return weft::detail::yield_if_budget_spent(h, ctx);  // done at once: no hand-over
  o->handle = h;
  o->ctx = ctx;
  o->home = weft::detail::current_worker();
  o->on_cancel = &on_cancel;
  o->armed = !collective;  // MPI cannot cancel a collective: it waits on through cancellation
  if (o->armed) ctx->arm(o);
  weft::detail::note_suspend(weft::detail::suspend_reason::mpi);
  e->submit(o);
  return true;
}

result<void> finish(op* o) noexcept {
  if (o->armed) o->ctx->disarm();
  o->armed = false;
  if (o->error != MPI_SUCCESS) return fail(std::error_code(o->error, category()));
  if (o->cancelled) return fail(errc::operation_canceled);
  return {};
}

void abandon(op* o) noexcept {
  if (o->state != op_state::queued && o->state != op_state::started) return;
  if (engine* e = engine::current()) e->abandon(o);
}

}  // namespace detail

environment::environment(int& argc, char**& argv) : engine_(std::make_unique<detail::engine>(&argc, &argv)) {}
environment::environment() : engine_(std::make_unique<detail::engine>(nullptr, nullptr)) {}
environment::~environment() = default;

communicator environment::world() const noexcept { return communicator(MPI_COMM_WORLD, engine_->rank(), engine_->size()); }

const std::string& environment::processor_name() const noexcept { return engine_->processor_name(); }

bool environment::launched_by_mpirun() noexcept {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_RANK") != nullptr;
}

}  // namespace weft::mpi
