// The spawned-task lifecycle; see weft/detail/spawn_state.hpp for the protocol.
//
// Two paths: a single-loop runtime's states are touched by one thread and use plain fields; a shared
// state (several workers) may be finished on one thread while another joins it, drops its handle or
// cancels it. There, `word` decides who acts: spawn_done sets sync_done, a joiner sets sync_joiner, a
// dropped handle sets sync_handle_gone (dropping the handle's reference in the same instruction), and
// whoever sets its bit second does the work that needs both (waking the joiner, reporting an exception
// nobody will see). The task's own reference is dropped by its loop after the resume that finished it
// (worker::bury), never inside the frame's final_suspend: the frame is still in use until it has
// suspended, and a reference dropped there would let another thread free it mid-suspension.
#include <cstring>
#include <system_error>

#include "runtime/scheduler.hpp"
#include "runtime/worker.hpp"
#include "weft/task_group.hpp"

namespace weft::detail {
namespace {

/// Reports the task's exception if nobody saw it; `w` null: the current loop (looked up only then).
void report_unseen(worker* w, spawn_state_base* s) noexcept {
  if (s->group == nullptr && !s->outcome_seen && s->promise->exception) {
    s->outcome_seen = true;
    if (w == nullptr) w = current_worker();
    if (w != nullptr) w->report_exception(s->ctx.name(), s->promise->exception);
  }
}

std::coroutine_handle<> spawn_done(void* arg) noexcept {
  auto* s = static_cast<spawn_state_base*>(arg);
  worker* w = s->home.load(std::memory_order_relaxed);
  w->forget(s);
  if (w->tracer() != nullptr) [[unlikely]] w->trace_ended(s->ctx.trace_id());

  std::coroutine_handle<> next = std::noop_coroutine();
  if (s->group != nullptr) {
    next = group_child_done(s->group, s);  // group children never move: same loop
    if (next != std::noop_coroutine() && w->observed()) {  // observed: the group's joiner gets a turn of its own
      w->schedule(next, group_joiner_context(s->group));
      next = std::noop_coroutine();
    }
  }

  if (!s->shared) {
    s->status.store(task_status::done, std::memory_order_relaxed);
    if (std::coroutine_handle<> j = std::exchange(s->joiner, {})) {
      s->joiner_ctx->disarm();
      if (next == std::noop_coroutine() && !w->observed()) {  // observed: the joiner's turn is its own
        next = j;
      } else {
        w->schedule(j, s->joiner_ctx);
      }
    }
    if (!s->handle_alive) report_unseen(w, s);
    // One thread: the handle is this loop's too, and can be dropped only once this frame has suspended
    // (by the joiner `next`, say), so the reference goes now, and the state is buried only if it was
    // the last (the spawn-and-join fast path: no graveyard round trip).
    if (spawn_unref(s)) w->bury(s);
    return next;
  }

  s->status.store(task_status::done, std::memory_order_release);
  // lifetime: the task keeps its reference until the loop buries it, after this resume. We are inside
  // the frame's final_suspend, and the frame may still be touched until the suspension completes;
  // were the reference dropped here, a joiner or handle on another thread could free the frame now.
  if (std::uint32_t word = s->word.load(std::memory_order_acquire); refs_of(word) == 1) {
    // Ours alone: the handle is gone and nothing else holds the state, so there is no handshake to
    // make, only an exception nobody will see to report.
    if ((word & sync_handle_gone) != 0) report_unseen(w, s);
    w->bury(s);
    return next;
  }
  std::uint32_t before = s->word.fetch_or(sync_done, std::memory_order_acq_rel);
  if ((before & sync_joiner) != 0) {
    // The joiner disarms its own cancellation hook when it resumes (its context is its loop's).
    std::coroutine_handle<> j = std::exchange(s->joiner, {});
    worker* jw = s->joiner_home;
    if (jw != w) {
      jw->remote_schedule(j, s->joiner_ctx);
    } else if (next == std::noop_coroutine() && !w->observed()) {
      next = j;
    } else {
      w->schedule(j, s->joiner_ctx);
    }
  }
  if ((before & sync_handle_gone) != 0) report_unseen(w, s);
  if ((before & sync_external) != 0) s->status.notify_all();  // block_on's thread
  w->bury(s);
  return next;
}

bool cancel_joined(cancel_waiter* w) noexcept;

/// Posted to a started task's loop to cancel it there; holds a reference until it runs or is dropped.
struct cancel_on_home {
  explicit cancel_on_home(spawn_state_base* state) noexcept : s(state) {}
  cancel_on_home(cancel_on_home&& o) noexcept : s(std::exchange(o.s, nullptr)) {}
  cancel_on_home(const cancel_on_home&) = delete;
  cancel_on_home& operator=(const cancel_on_home&) = delete;
  cancel_on_home& operator=(cancel_on_home&&) = delete;
  ~cancel_on_home() {
    if (s != nullptr && spawn_unref(s)) delete s;  // the task ended and every handle is gone
  }
  void operator()() const noexcept {
    // What it cut (context::was_cut) reaches the joiner with the outcome: spawn_join_resumed.
    if (s->load_status() == task_status::running) s->ctx.cancel();
  }
  spawn_state_base* s;
};

/// The trace (when the runtime has one): a new id for the task, and its spawn, recorded by the loop
/// the spawner runs on, or through the sink from outside the runtime.
void trace_spawn(worker* w, spawn_state_base* s, bool here) {
  trace::recorder* t = w->tracer();
  trace::sink& sink = t->owner();
  std::uint64_t id = sink.new_task_id();
  s->ctx.set_trace_id(id);
  worker* spawner = here ? w : current_worker();
  trace::recorder* by = spawner != nullptr ? spawner->tracer() : nullptr;
  if (by != nullptr && &by->owner() == &sink) {
    by->spawned(id, spawner->running_task(), s->ctx.name());
  } else {
    sink.foreign_spawn(id, 0, s->ctx.name());
  }
}

}  // namespace

void spawn_start(worker* w, spawn_state_base* s, std::coroutine_handle<> frame, promise_base& p,
                 std::string_view name, task_group* group, bool pinned, bool here) {
  s->frame = frame;
  s->promise = &p;
  if (!name.empty()) {
    s->name = std::make_unique<char[]>(name.size());
    std::memcpy(s->name.get(), name.data(), name.size());
    s->ctx.set_name(std::string_view(s->name.get(), name.size()));
  }
  p.ctx = &s->ctx;
  p.on_done = &spawn_done;
  p.on_done_arg = s;
  if (w->tracer() != nullptr) [[unlikely]] trace_spawn(w, s, here);
  scheduler* sched = w->shared();
  here = here || current_worker() == w;
  if (!here && (sched == nullptr || pinned)) {
    // From another thread (or before the loop runs): the loop's run queue and task list are its
    // thread's alone, so the start is posted there, and the state takes the atomic paths, since the
    // handle lives on this thread. Started as far as cancellation is concerned: a cancel is posted to
    // `w` too, after this post.
    s->shared = true;
    s->home.store(w, std::memory_order_relaxed);
    s->started.store(true, std::memory_order_seq_cst);
    w->post_spawn(s);
    return;
  }
  if (sched == nullptr || group != nullptr) {
    // One loop, or a group child: it runs where it was spawned, from now on (adopt sets `home`).
    // Group children stay with their group, whose bookkeeping is its loop's.
    if (sched != nullptr) {
      s->shared = true;
      s->started.store(true, std::memory_order_relaxed);
    }
    w->adopt(s);
    if (group != nullptr) group_child_started(group, s);
    w->schedule_fresh(frame, &s->ctx);
    return;
  }
  s->shared = true;
  s->home.store(w, std::memory_order_relaxed);
  if (pinned) {  // and spawned on `w` itself (from elsewhere: posted, above)
    s->started.store(true, std::memory_order_seq_cst);
    w->adopt(s);
    w->schedule(frame, &s->ctx);
    return;
  }
  if (here) {
    w->push_fresh(s);
  } else {
    sched->inject(s);  // from outside the runtime, or from another runtime's thread
  }
}

void spawn_release_handle(spawn_state_base* s) noexcept {
  if (!s->shared) {
    s->handle_alive = false;
    if (s->status.load(std::memory_order_relaxed) == task_status::done) report_unseen(nullptr, s);
    if (spawn_unref(s)) delete s;
    return;
  }
  // Sets sync_handle_gone, and drops the handle's reference at once unless the task has finished
  // (then its outcome may still need reporting, below).
  std::uint32_t before = spawn_word_mark(s, sync_handle_gone, sync_done);
  if ((before & sync_done) == 0) {
    if (refs_of(before) == 1) delete s;
    return;
  }
  report_unseen(nullptr, s);
  if (spawn_unref(s)) delete s;
}

std::coroutine_handle<> spawn_join_suspend(join_waiter* w, context* joiner_ctx) noexcept {
  note_suspend(suspend_reason::join);
  spawn_state_base* s = w->s;
  w->ctx = joiner_ctx;
  s->joiner = w->waiting;
  s->joiner_ctx = joiner_ctx;
  if (s->shared) s->joiner_home = current_worker();
  w->on_cancel = &cancel_joined;
  if (joiner_ctx->cancelled()) {
    spawn_request_cancel(s);
  } else {
    joiner_ctx->arm(w);
  }
  if (!s->shared) {
    // Spawn-then-join: the task's first resume is usually the newest ready coroutine. Run it now
    // rather than after everything queued before it; its end transfers straight back to the joiner
    // (spawn_done). Only a first resume: a task that yielded keeps its place behind older ones.
    if (s->home.load(std::memory_order_relaxed)->take_back(s->frame)) return s->frame;
    return std::noop_coroutine();
  }
  std::uint32_t before = s->word.fetch_or(sync_joiner, std::memory_order_acq_rel);
  if ((before & sync_done) != 0) {
    // Finished meanwhile, on another thread: go on without suspending.
    s->joiner = {};
    return w->waiting;
  }
  return std::noop_coroutine();
}

void spawn_join_abandon(join_waiter* w) noexcept {
  // Only at runtime shutdown (the joiner's frame is destroyed while it waits): no thread races us.
  spawn_state_base* s = w->s;
  if (s->joiner == w->waiting) {
    s->joiner = {};
    s->word.fetch_and(~sync_joiner, std::memory_order_relaxed);
    s->joiner_ctx->disarm();
  }
}

bool spawn_request_cancel(spawn_state_base* s) noexcept {
  if (!s->shared) return s->ctx.cancel();
  // Set the flag first (seq_cst): a task that has not started sees it at its first await.
  s->ctx.set_cancelled();
  if (!s->started.load(std::memory_order_seq_cst)) return true;
  worker* home = s->home.load(std::memory_order_relaxed);  // fixed once started
  if (s->load_status() != task_status::running) return false;
  if (home == current_worker()) return s->ctx.cancel();  // cut short what it waits on, and its children
  // Its tree belongs to its loop: walk it there. The reference keeps the state alive until then.
  s->word.fetch_add(ref_one, std::memory_order_relaxed);
  home->post(cancel_on_home{s});
  return true;
}

[[noreturn]] void throw_abandoned() {
  throw std::system_error(make_error_code(errc::operation_canceled), "task destroyed by runtime shutdown");
}

namespace {
bool cancel_joined(cancel_waiter* w) noexcept {
  // The joiner stays suspended: it still waits for the task, which now ends sooner. Cut short, as
  // far as `timeout` is concerned, unless the task had finished already (its wake-up to the joiner is
  // on its way) or nothing in it was waiting on something the cancel could cut.
  spawn_state_base* s = static_cast<join_waiter*>(w)->s;
  if (s->load_status() != task_status::running) return false;
  if (!s->shared) return s->ctx.cancel();
  // Several workers: the cancel may be posted to the task's loop, or wait for its first await, and
  // what it cuts is decided there. The joiner learns it with the outcome (spawn_join_resumed reads the
  // task's context); answering "cut" now would have `timeout` drop a value the task received before
  // the posted cancel reached it.
  (void)spawn_request_cancel(s);
  return false;
}
}  // namespace

}  // namespace weft::detail
