#include "runtime/worker.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

namespace weft::detail {
namespace {

thread_local worker* this_thread_worker = nullptr;

constexpr clock::duration tick_length = std::chrono::milliseconds(1);
constexpr std::int64_t max_wait_ms = 3'600'000;  // wake at least hourly; keeps the int in range

clock::time_point steady_now() noexcept {
  return clock::time_point(std::chrono::steady_clock::now().time_since_epoch());
}

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

void default_exception_report(std::string_view name, std::exception_ptr e) {
  std::string what = describe(e);
  std::fprintf(stderr, "weft: task '%.*s' failed: %s\n", static_cast<int>(name.size()),
               name.empty() ? "(unnamed)" : name.data(), what.c_str());
}

void default_slow_report(std::string_view name, std::chrono::nanoseconds held) {
  std::fprintf(stderr, "weft: task '%.*s' held the loop for %.3f ms\n", static_cast<int>(name.size()),
               name.empty() ? "(unnamed)" : name.data(), static_cast<double>(held.count()) / 1e6);
}

}  // namespace

worker* current_worker() noexcept { return this_thread_worker; }

worker* require_worker() {
  if (this_thread_worker == nullptr) throw std::system_error(make_error_code(errc::not_in_runtime), "weft::spawn");
  return this_thread_worker;
}

void schedule(std::coroutine_handle<> h, context* ctx) noexcept { this_thread_worker->schedule(h, ctx); }

worker::worker(runtime_options options)
    : options_(std::move(options)),
      reactor_(make_reactor(reactor_kind::epoll)),
      paused_(options_.start_paused),
      origin_(steady_now()),
      virtual_now_(origin_),
      loop_now_(origin_) {
  if (!options_.on_unhandled_exception) options_.on_unhandled_exception = default_exception_report;
  if (!options_.on_slow_task) options_.on_slow_task = default_slow_report;
}

worker::~worker() {
  shutting_down_ = true;
  worker* previous = std::exchange(this_thread_worker, this);
  queue_.clear();
  // Unhook group children first: a group may die (with its owner's frame) before a child whose
  // join_handle lives on elsewhere, and the child's context must not point into it then.
  unhook_group_children(nullptr);
  while (spawn_state_base* s = live_) {
    forget(s);
    s->status = task_status::abandoned;
    s->drop_frame();
    if (--s->refs == 0) delete s;
  }
  free_buried();
  for (auto& e : extensions_) e.reset();  // they may still use the reactor (and this loop)
  this_thread_worker = previous;
}

void worker::post(unique_function fn) {
  {
    std::lock_guard lock(post_mu_);
    posted_.push_back(std::move(fn));
  }
  has_posted_.store(true);  // ordering: seq_cst, paired with sleeping_ in poll() (see the protocol above)
  if (sleeping_.load()) reactor_->wake();
}

void worker::run_until_done(spawn_state_base* root) {
  if (running_) throw std::logic_error("weft: block_on called from inside the same runtime");
  worker* previous = std::exchange(this_thread_worker, this);
  running_ = true;
  try {
    while (root->status == task_status::running) turn(root);
  } catch (...) {
    running_ = false;
    this_thread_worker = previous;
    throw;
  }
  running_ = false;
  this_thread_worker = previous;
}

void worker::turn(const spawn_state_base* root) {
  runnable r;
  for (int budget = task_budget; budget > 0 && queue_.pop(r); --budget) resume(r);
  if (root->status != task_status::running) return;  // done: don't wait for events nobody needs
  if (has_posted_.load(std::memory_order_relaxed)) run_posted();
  poll(queue_.empty());
}

void worker::resume(const runnable& r) {
  if (options_.slow_task_threshold.count() > 0) {
    // lifetime: the context may be freed during the resume (the task ends, its handle is dropped).
    std::string name(r.ctx != nullptr ? r.ctx->name() : std::string_view{});
    auto start = std::chrono::steady_clock::now();
    r.handle.resume();
    auto held = std::chrono::steady_clock::now() - start;
    if (held > options_.slow_task_threshold) {
      options_.on_slow_task(name, std::chrono::duration_cast<std::chrono::nanoseconds>(held));
    }
  } else {
    r.handle.resume();
  }
  if (!graveyard_.empty()) free_buried();
}

void worker::run_posted() {
  {
    std::lock_guard lock(post_mu_);
    running_posts_.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& fn : running_posts_) fn();
  running_posts_.clear();
}

void worker::poll(bool idle) {
  int timeout_ms = 0;
  if (idle) {
    std::optional<std::uint64_t> next = wheel_.next_expiration();
    if (!next) {
      timeout_ms = -1;
    } else if (paused_) {
      // Virtual time: nothing can happen before the next timer, so jump to it.
      virtual_now_ = std::max(virtual_now_, time_of_tick(*next));
    } else {
      // Signed arithmetic: a deadline already behind us (a busy loop) must give 0, not wrap around.
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(time_of_tick(*next) - steady_now());
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, max_wait_ms));
    }
  }
  if (timeout_ms != 0) {
    sleeping_.store(true);  // ordering: seq_cst, see post()
    if (has_posted_.load()) timeout_ms = 0;
  }
  reactor_->poll(timeout_ms);
  sleeping_.store(false, std::memory_order_relaxed);
  loop_now_ = now();
  wheel_.advance(tick_of(loop_now_));
}

clock::time_point worker::time_of_tick(std::uint64_t tick) const noexcept {
  return origin_ + static_cast<clock::rep>(tick) * tick_length;
}

void worker::free_buried() noexcept {
  // Deleting a state destroys its frame, which may drop join handles and bury more states.
  while (!graveyard_.empty()) {
    spawn_state_base* s = graveyard_.back();
    graveyard_.pop_back();
    delete s;
  }
}

clock::time_point worker::now() const noexcept { return paused_ ? virtual_now_ : steady_now(); }

std::uint64_t worker::tick_of(clock::time_point t) const noexcept {
  auto since = t - origin_;
  return since.count() <= 0 ? 0 : static_cast<std::uint64_t>(since / tick_length);
}

std::uint64_t worker::tick_now() const noexcept { return tick_of(now()); }

void worker::advance_paused(clock::duration d) noexcept {
  if (!paused_ || d.count() <= 0) return;
  virtual_now_ += d;
  wheel_.advance(tick_now());
}

void worker::arm_timer(timer_entry* e, clock::time_point deadline) noexcept {
  auto since = deadline - origin_;
  // Round up: a timer never fires before its deadline.
  e->tick = since.count() <= 0 ? 0 : static_cast<std::uint64_t>((since + tick_length - clock::duration(1)) / tick_length);
  wheel_.insert(e);
}

void worker::unhook_group_children(const task_group* group) noexcept {
  for (spawn_state_base* s = live_; s != nullptr; s = s->live_next) {
    if (s->group != nullptr && (group == nullptr || s->group == group)) {
      s->ctx.detach();
      s->group = nullptr;
    }
  }
}

void worker::adopt(spawn_state_base* s) noexcept {
  s->home = this;
  s->live_prev = nullptr;
  s->live_next = live_;
  if (live_ != nullptr) live_->live_prev = s;
  live_ = s;
  ++live_count_;
}

void worker::forget(spawn_state_base* s) noexcept {
  if (s->live_prev != nullptr) {
    s->live_prev->live_next = s->live_next;
  } else {
    live_ = s->live_next;
  }
  if (s->live_next != nullptr) s->live_next->live_prev = s->live_prev;
  s->live_prev = s->live_next = nullptr;
  --live_count_;
}

void worker::report_exception(std::string_view task_name, std::exception_ptr e) noexcept {
  try {
    options_.on_unhandled_exception(task_name, e);
  } catch (...) {
    std::fputs("weft: on_unhandled_exception threw; ignoring\n", stderr);
  }
}

}  // namespace weft::detail
