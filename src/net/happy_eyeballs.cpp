// tcp_stream::connect(host, port): resolution, then a Happy Eyeballs race (RFC 8305) over the addresses.
//
// Protocol: attempts run as tasks in one task_group and report to a shared `race`. The racing task
// starts attempt k, then waits (race_wait) until something changes — an attempt finished — or the
// attempt delay passes; a failure starts the next attempt at once. The first connected stream wins;
// leaving the function cancels the group and waits for the losers, whose streams close.
#include <algorithm>
#include <chrono>
#include <string>
#include <optional>
#include <utility>

#include "runtime/worker.hpp"
#include "trace/trace.hpp"
#include "weft/detail/coop.hpp"
#include "weft/net/resolver.hpp"
#include "weft/net/tcp.hpp"
#include "weft/task_group.hpp"

namespace weft::net {
namespace {

using weft::detail::context;
using weft::detail::timer_entry;

struct race {
  std::optional<tcp_stream> winner;
  std::error_code last_error = errc::host_not_found;
  int running = 0;
  bool changed = false;
  std::coroutine_handle<> waiting;
  context* ctx = nullptr;

  void report() noexcept {
    changed = true;
    if (waiting) {
      ctx->disarm();
      weft::detail::schedule(std::exchange(waiting, {}), ctx);
    }
  }
};

/// Waits until the race changes or `deadline` passes. Returns false if the awaiting task was cancelled.
class race_wait : weft::detail::cancel_waiter, timer_entry {
 public:
  race_wait(race& r, clock::time_point deadline) noexcept : r_(r), deadline_(deadline) {}
  race_wait(race_wait&&) = delete;
  ~race_wait() {
    if (r_.waiting) {
      r_.waiting = {};
      r_.ctx->disarm();
    }
    if (linked()) weft::detail::current_worker()->disarm_timer(this);
  }
  bool await_ready() const noexcept { return r_.changed; }
  template <weft::detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    context* ctx = h.promise().ctx;
    if (ctx->cut_if_cancelled()) {
      cancelled_ = true;
      return weft::detail::yield_if_budget_spent(h, ctx);
    }
    r_.waiting = h;
    r_.ctx = ctx;
    on_cancel = &race_wait::cut_short;
    ctx->arm(this);
    fire = &race_wait::expired;
    weft::detail::current_worker()->arm_timer(this, deadline_);
    weft::detail::note_suspend(weft::detail::suspend_reason::join);  // on the connect attempts
    return true;
  }
  bool await_resume() noexcept {
    if (linked()) weft::detail::current_worker()->disarm_timer(this);
    r_.changed = false;
    return !cancelled_;
  }

 private:
  static void wake(race_wait* self) noexcept {
    // The race may have woken the task already (report() leaves the timer armed): its resumption is
    // on its way, and a timer firing meanwhile has nothing to do.
    if (!self->r_.waiting) return;
    std::coroutine_handle<> h = std::exchange(self->r_.waiting, {});
    self->r_.ctx->disarm();
    weft::detail::schedule(h, self->r_.ctx);
  }
  static bool cut_short(weft::detail::cancel_waiter* w) noexcept {
    auto* self = static_cast<race_wait*>(w);
    self->cancelled_ = true;
    if (self->linked()) weft::detail::current_worker()->disarm_timer(self);
    wake(self);
    return true;
  }
  static void expired(timer_entry* e) noexcept { wake(static_cast<race_wait*>(e)); }

  race& r_;
  clock::time_point deadline_;
  bool cancelled_ = false;
};

task<void> attempt(race& r, endpoint ep, clock::duration timeout) {
  auto s = co_await tcp_stream::connect(ep, timeout);
  --r.running;
  if (s && !r.winner) {
    r.winner = std::move(*s);
  } else if (!s && s.error() != errc::operation_canceled) {
    r.last_error = s.error();
  }
  r.report();
}

/// RFC 8305 section 4: alternate families, starting with the first family the resolver gave.
std::vector<endpoint> interleave(const std::vector<ip_address>& addrs, std::uint16_t port) {
  std::vector<endpoint> v6;
  std::vector<endpoint> v4;
  for (const ip_address& a : addrs) (a.is_v6() ? v6 : v4).push_back({a, port});
  bool six_first = !addrs.empty() && addrs.front().is_v6();
  std::vector<endpoint> out;
  std::vector<endpoint>& first = six_first ? v6 : v4;
  std::vector<endpoint>& second = six_first ? v4 : v6;
  for (std::size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < second.size()) out.push_back(second[i]);
  }
  return out;
}

}  // namespace

task<result<tcp_stream>> tcp_stream::connect_any(std::vector<endpoint> candidates, clock::duration timeout,
                                                 clock::duration attempt_delay) {
  if (candidates.empty()) co_return fail(errc::invalid_argument);
  clock::time_point deadline = weft::deadline_after(clock::now(), timeout);
  race r;
  bool cancelled = false;
  {
    task_group attempts(task_group::policy::collect_all);
    for (std::size_t i = 0; i < candidates.size() && !r.winner && !cancelled; ++i) {
      ++r.running;
      // Named only when traced (as the server's connections are): a name costs an allocation.
      std::string_view name = weft::detail::current_worker()->tracer() != nullptr ? "connect attempt" : "";
      attempts.spawn(name, attempt(r, candidates[i], deadline - clock::now())).detach();
      // Wait for the attempt delay, or less if every attempt so far has failed.
      clock::time_point next = std::min(weft::deadline_after(clock::now(), attempt_delay), deadline);
      while (!r.winner && r.running > 0 && clock::now() < next) {
        bool ok = co_await race_wait(r, next);
        if (!ok) {
          cancelled = true;
          break;
        }
      }
    }
    while (!r.winner && r.running > 0 && !cancelled) {
      bool ok = co_await race_wait(r, deadline);
      if (!ok) cancelled = true;
      if (clock::now() >= deadline) break;
    }
    attempts.cancel();
    co_await attempts.join();
  }
  if (r.winner) co_return std::move(*r.winner);
  if (cancelled) co_return fail(errc::operation_canceled);
  if (clock::now() >= deadline) co_return fail(errc::timed_out);
  co_return fail(r.last_error);
}

task<result<tcp_stream>> tcp_stream::connect(std::string host, std::uint16_t port, clock::duration timeout,
                                             clock::duration attempt_delay) {
  clock::time_point deadline = weft::deadline_after(clock::now(), timeout);
  // Traced: the lookup is a "dns" span in the connecting task (inside an HTTP request's connect phase).
  weft::detail::worker* w = weft::detail::current_worker();
  bool traced = w != nullptr && w->tracer() != nullptr && w->running_task() != 0;
  std::string args;
  if (traced) [[unlikely]] {
    args = "\"host\":";
    weft::detail::trace::append_json_string(args, host);
  }
  auto looked_up = std::chrono::steady_clock::now();
  auto addrs = co_await resolve(std::move(host), {.timeout = timeout});
  if (traced) [[unlikely]] {
    w = weft::detail::current_worker();  // the same loop: a task resumes where it waited
    args += ",\"addresses\":" + std::to_string(addrs ? addrs->size() : 0);
    if (w->tracer() != nullptr) w->tracer()->span(w->running_task(), looked_up, std::chrono::steady_clock::now(), "dns", args);
  }
  if (!addrs) co_return fail(addrs.error());
  co_return co_await connect_any(interleave(*addrs, port), deadline - clock::now(), attempt_delay);
}

}  // namespace weft::net
