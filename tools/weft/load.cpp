// `weft load`: keep-alive load on C connections for a duration or a number of requests, like wrk.
//
// Each connection is a task that sends its next request as soon as the last response is read; the
// client's per-origin pool holds the connections (one per task, -c at most). Results are recorded
// per thread, without locks, and merged at the end: latencies in an HdrHistogram-style histogram
// (microseconds), status codes, errors by kind.
#include <weft/weft.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "histogram.hpp"

namespace weft::tool {

namespace {

/// What one thread saw. Only its thread writes it; the progress line reads `done` alone.
struct recorder {
  latency_histogram latency;
  std::array<std::uint64_t, 600> statuses{};  // by code; anything outside 100..599 counts at 0
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  clock::time_point last{};  // the last completion this thread saw
  std::atomic<std::uint64_t> done{0};
};

struct load_state {
  const load_config& cfg;
  http::client_request request;
  std::uint64_t limit = 0;                 // requests in all; 0: until the deadline
  std::atomic<std::uint64_t> claimed{0};  // with a limit: requests handed out so far
  std::atomic<bool> stop{false};
  clock::time_point start{};
  std::mutex lock;  // guards recorders (a thread's first request adds its own)
  std::vector<std::unique_ptr<recorder>> recorders;
  std::uint64_t run = next_run.fetch_add(1) + 1;  // tells this run's recorders from an earlier run's

  explicit load_state(const load_config& c) : cfg(c) {}

  recorder& mine() {
    thread_local std::pair<std::uint64_t, recorder*> cached{0, nullptr};
    if (cached.first != run) {
      std::lock_guard guard(lock);
      cached = {run, recorders.emplace_back(std::make_unique<recorder>()).get()};
    }
    return *cached.second;
  }

  static inline std::atomic<std::uint64_t> next_run{0};

  std::uint64_t done() {
    std::lock_guard guard(lock);
    std::uint64_t n = 0;
    for (auto& r : recorders) n += r->done.load(std::memory_order_relaxed);
    return n;
  }

  bool take_one() {
    if (stop.load(std::memory_order_relaxed)) return false;
    return limit == 0 || claimed.fetch_add(1, std::memory_order_relaxed) < limit;
  }
};

std::string format_seconds(clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", std::chrono::duration<double>(d).count());
  return text;
}

/// Latency and throughput count responses; a failure (refused, reset, timed out) counts by its kind.
void record(recorder& rec, const result<http::client_response>& r, clock::time_point began, clock::time_point ended) {
  clock::duration took = ended - began;
  rec.last = ended;
  if (r) {
    rec.latency.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
    ++rec.statuses[r->status >= 100 && r->status < 600 ? r->status : 0];
    rec.bytes += r->body.size();
  } else {
    ++rec.errors[error_kind(r.error())];
    ++rec.failed;
  }
  rec.done.fetch_add(1, std::memory_order_relaxed);
}

/// One connection's worth of load: a request, its response, the next request.
task<void> connection(load_state& st, http::client& http) {
  while (st.take_one()) {
    auto began = clock::now();
    auto r = co_await http.send(st.request);
    record(st.mine(), r, began, clock::now());
    if (!r && r.error() == errc::operation_canceled) co_return;
  }
}

/// Ends a timed run, and shows progress on a terminal once a second.
task<void> pace(load_state& st, clock::duration duration, clock::time_point start) {
  using namespace std::chrono_literals;
  progress_line progress;
  std::uint64_t last = 0;
  clock::time_point end = start + duration;
  while (!st.stop.load(std::memory_order_relaxed)) {
    clock::time_point now = clock::now();
    if (duration > clock::duration::zero() && now >= end) break;
    clock::duration step = duration > clock::duration::zero() ? std::min<clock::duration>(1s, end - now) : 1s;
    co_await sleep_for(step);
    std::uint64_t done = st.done();
    double s = std::chrono::duration<double>(clock::now() - start).count();
    char text[160];
    std::snprintf(text, sizeof text, "%6.1f s  %10llu requests  %9.0f req/s now", s,
                  static_cast<unsigned long long>(done), static_cast<double>(done - last) / std::chrono::duration<double>(step).count());
    progress.draw(text);
    last = done;
    if (st.limit != 0 && done >= st.limit) break;
  }
  st.stop.store(true, std::memory_order_relaxed);
  progress.clear();
}

task<void> drive(load_state& st, http::client_options options, clock::duration duration) {
  http::client http(std::move(options));
  auto start = st.start = clock::now();
  std::vector<join_handle<void>> connections;
  for (std::size_t c = 0; c < st.cfg.connections; ++c) connections.push_back(spawn(connection(st, http)));
  auto pacer = spawn(pace(st, duration, start));
  co_await join_all(connections);  // every one, even if one throws: they use this frame's state
  st.stop.store(true, std::memory_order_relaxed);
  pacer.cancel();
  co_await std::move(pacer);
}

void report(const load_config& cfg, const recorder& all, double elapsed_s) {
  const latency_histogram& l = all.latency;
  auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000; };
  double rps = elapsed_s > 0 ? static_cast<double>(l.count()) / elapsed_s : 0;
  if (cfg.json) {
    nlohmann::json out;
    out["url"] = cfg.url;
    out["connections"] = cfg.connections;
    out["threads"] = cfg.threads;
    out["requests"] = l.count();  // responses
    out["failed"] = all.failed;
    out["elapsed_s"] = elapsed_s;
    out["rps"] = rps;
    out["bytes"] = all.bytes;
    out["latency_ms"] = {{"min", ms(l.min())},
                         {"mean", l.mean() / 1000},
                         {"p50", ms(l.percentile(50))},
                         {"p90", ms(l.percentile(90))},
                         {"p99", ms(l.percentile(99))},
                         {"p999", ms(l.percentile(99.9))},
                         {"max", ms(l.max())}};
    nlohmann::json statuses = nlohmann::json::object();
    for (std::size_t code = 0; code < all.statuses.size(); ++code) {
      if (all.statuses[code] != 0) statuses[std::to_string(code)] = all.statuses[code];
    }
    out["status"] = statuses;
    out["errors"] = all.errors.empty() ? nlohmann::json::object() : nlohmann::json(all.errors);
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%llu responses in %.2f s, %.1f MB read: %.0f req/s (%llu failed)\n",
              static_cast<unsigned long long>(l.count()), elapsed_s, static_cast<double>(all.bytes) / 1e6, rps,
              static_cast<unsigned long long>(all.failed));
  std::printf("  latency   p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   p99.9 %.2f ms   max %.2f ms\n",
              ms(l.percentile(50)), ms(l.percentile(90)), ms(l.percentile(99)), ms(l.percentile(99.9)), ms(l.max()));
  std::printf("  status  ");
  for (std::size_t code = 0; code < all.statuses.size(); ++code) {
    if (all.statuses[code] != 0) std::printf("  %zu × %llu", code, static_cast<unsigned long long>(all.statuses[code]));
  }
  std::printf("\n  errors  ");
  if (all.errors.empty()) std::printf("  none");
  for (const auto& [kind, n] : all.errors) std::printf("  %s × %llu", kind.c_str(), static_cast<unsigned long long>(n));
  std::printf("\n");
}

}  // namespace

int load(const load_config& cfg) {
  load_state st(cfg);
  clock::duration duration = clock::duration::zero();
  if (!cfg.duration.empty()) {
    auto d = parse_duration(cfg.duration);
    if (!d || *d <= clock::duration::zero()) {
      std::fprintf(stderr, "weft load: -d wants a duration such as 10s, 500ms or 2m, not '%s'\n", cfg.duration.c_str());
      return 2;
    }
    duration = *d;
  }
  if (cfg.duration.empty() && cfg.requests == 0) duration = std::chrono::seconds(10);  // wrk's default
  st.limit = cfg.requests;
  if (cfg.connections == 0 || !http::url::parse(cfg.url)) {
    std::fprintf(stderr, cfg.connections == 0 ? "weft load: -c must be at least 1\n"
                                              : "weft load: not an http:// or https:// URL: '%s'\n",
                 cfg.url.c_str());
    return 2;
  }
  if (!(cfg.timeout_s > 0)) {
    std::fprintf(stderr, "weft load: --timeout must be a number of seconds above 0\n");
    return 2;
  }
  auto headers = parse_header_options(cfg.headers, "load");
  if (!headers) return 2;
  st.request.method = !cfg.method.empty() ? cfg.method : cfg.body.empty() ? "GET" : "POST";
  st.request.url = cfg.url;
  st.request.headers = std::move(*headers);
  st.request.body = cfg.body;

  http::client_options options;
  options.max_connections_per_host = cfg.connections;
  options.response_timeout = seconds(cfg.timeout_s);
  options.connect_timeout = seconds(cfg.timeout_s);
  if (cfg.insecure && !skip_tls_verification(options, "load")) return 1;
  raise_descriptor_limit();
  if (!cfg.json) {
    std::string what = st.limit ? std::to_string(st.limit) + " requests"
                                : format_seconds(duration);
    std::size_t threads = cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
    std::printf("weft load: %s %s, %zu connections, %zu %s, for %s\n", st.request.method.c_str(), cfg.url.c_str(),
                cfg.connections, threads, threads == 1 ? "thread" : "threads", what.c_str());
    std::fflush(stdout);
  }
  runtime_options rt_options;
  rt_options.workers = cfg.threads;
  rt_options.trace_file = cfg.trace_file;
  {
    runtime rt(rt_options);
    rt.block_on(drive(st, std::move(options), duration));
  }
  recorder all;
  all.last = st.start;
  for (auto& r : st.recorders) {
    all.latency.merge(r->latency);
    for (std::size_t i = 0; i < all.statuses.size(); ++i) all.statuses[i] += r->statuses[i];
    for (const auto& [kind, n] : r->errors) all.errors[kind] += n;
    all.failed += r->failed;
    all.bytes += r->bytes;
    all.last = std::max(all.last, r->last);
  }
  // From the first request to the last completion: not the runtime's start-up or shutdown.
  double elapsed_s = std::chrono::duration<double>(all.last - st.start).count();
  report(cfg, all, elapsed_s);
  return all.errors.empty() ? 0 : 1;
}

}  // namespace weft::tool
