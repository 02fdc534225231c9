// `weft fetch`: the concurrent requests to /delay/N of the essay weft started from, as a tool. Requests start without waiting for each
// other (at most -c at once); each prints a line as its response arrives, so the lines come in arrival
// order, not in the order the requests were made.
#include <weft/weft.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "histogram.hpp"
#include "json_text.hpp"

namespace weft::tool {

namespace {

struct fetch_state {
  explicit fetch_state(const fetch_config& c) : cfg(c) {}

  const fetch_config& cfg;
  http::headers headers;  // when no header holds {i}: the same for every request
  bool headers_per_request = false;
  std::size_t total = 0;
  std::atomic<std::size_t> next{0};  // the next request's index, taken by workers on any thread
  std::mutex lock;                   // record()'s: what follows, and stdout
  std::size_t done = 0;
  clock::time_point start = clock::now();
  clock::time_point last_done = start;  // the time runs from the first request to the last response
  latency_histogram latency;  // microseconds
  std::map<int, std::size_t> statuses;
  std::map<std::string, std::size_t> errors;
  std::size_t ok = 0;           // responses below 400
  std::size_t http_errors = 0;  // responses of 400 and above
  std::size_t failed = 0;       // no response
  std::size_t bytes = 0;
  nlohmann::json results = nlohmann::json::array();
  progress_line progress;
};

double ms_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

http::client_request request_for(const fetch_state& st, std::size_t i) {
  const fetch_config& cfg = st.cfg;
  http::client_request req;
  req.url = with_index(cfg.urls[i % cfg.urls.size()], i);
  req.body = with_index(cfg.body, i);
  req.method = !cfg.method.empty() ? cfg.method : cfg.body.empty() ? "GET" : "POST";
  if (st.headers_per_request) {
    std::vector<std::string> options;
    for (const auto& h : cfg.headers) options.push_back(with_index(h, i));
    req.headers = *parse_header_options(options, "fetch");  // checked once before the first request
  } else {
    req.headers = st.headers;
  }
  return req;
}

void record(fetch_state& st, std::size_t i, const result<http::client_response>& r, double ms) {
  std::lock_guard guard(st.lock);  // taken once per response: with --threads, workers finish on any thread
  ++st.done;
  st.last_done = clock::now();
  if (r) st.latency.record(static_cast<std::uint64_t>(ms * 1000));  // the latency of responses, not of failures
  const fetch_config& cfg = st.cfg;
  bool lines = !cfg.quiet && !cfg.json;
  if (lines) st.progress.clear();
  if (r) {
    ++st.statuses[r->status];
    ++(r->status < 400 ? st.ok : st.http_errors);
    st.bytes += r->body.size();
    if (lines) {
      std::printf("#%-5zu %3d  %9.1f ms  %8zu B\n", i, r->status, ms, r->body.size());
      if (cfg.show_body) {
        std::fwrite(r->body.data(), 1, r->body.size(), stdout);
        if (!r->body.empty() && r->body.back() != '\n') std::fputc('\n', stdout);
      }
    }
  } else {
    ++st.failed;
    ++st.errors[error_kind(r.error())];
    if (lines) std::printf("#%-5zu ERR  %9.1f ms  %s\n", i, ms, r.error().message().c_str());
  }
  if (lines) std::fflush(stdout);
  if (cfg.json && !cfg.quiet) {
    nlohmann::json one;
    one["index"] = i;
    one["time_ms"] = ms;
    if (r) {
      one["status"] = r->status;
      one["bytes"] = r->body.size();
      if (cfg.show_body) one["body"] = r->body;
    } else {
      one["error"] = r.error().message();
      one["kind"] = error_kind(r.error());
    }
    st.results.push_back(std::move(one));
  }
}

/// Takes the next request until none are left: -c of these run at once.
task<void> worker(fetch_state& st, http::client& http) {
  for (;;) {
    std::size_t i = st.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= st.total) co_return;
    auto began = clock::now();
    auto r = co_await http.send(request_for(st, i));
    record(st, i, r, ms_between(began, clock::now()));
  }
}

/// The progress bar, once a run has taken a second.
task<void> show_progress(fetch_state& st) {
  using namespace std::chrono_literals;
  for (;;) {
    co_await sleep_for(100ms);
    std::lock_guard guard(st.lock);
    double s = ms_between(st.start, clock::now()) / 1000;
    if (st.done >= st.total) break;
    if (s < 1) continue;
    char text[160];
    std::snprintf(text, sizeof text, "%s %zu/%zu  %.1f s  %zu failed", bar(st.done, st.total).c_str(), st.done,
                  st.total, s, st.failed);
    st.progress.draw(text);
  }
  std::lock_guard guard(st.lock);
  st.progress.clear();
}

task<void> fetch_all(fetch_state& st, http::client_options options) {
  http::client http(std::move(options));  // here: its connections belong to this run's loops
  std::size_t n = std::min(st.cfg.concurrency, st.total);
  // spawn, not a task_group: a group's children stay on its loop, and with --threads the workers
  // should spread over every loop.
  std::vector<join_handle<void>> workers;
  workers.reserve(n);
  for (std::size_t w = 0; w < n; ++w) {
    workers.push_back(spawn(worker(st, http)));
    // Let the loop take a turn every 64 starts: connections that are up send their requests while
    // the rest still connect, instead of every request waiting behind every connect.
    if (w % 64 == 63) (void)co_await yield_now();
  }
  join_handle<void> progress;
  if (st.progress.enabled()) progress = spawn(show_progress(st));
  co_await join_all(workers);  // every one, even if one throws: they use `st` and `http`
  if (progress.valid()) co_await std::move(progress);
}

void print_summary(const fetch_state& st, double elapsed_s) {
  const latency_histogram& l = st.latency;
  auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000; };
  if (st.cfg.json) {
    nlohmann::json out;
    out["requests"] = st.total;
    out["ok"] = st.ok;
    out["http_errors"] = st.http_errors;
    out["failed"] = st.failed;
    out["elapsed_s"] = elapsed_s;
    out["rps"] = elapsed_s > 0 ? static_cast<double>(st.total) / elapsed_s : 0.0;
    out["bytes"] = st.bytes;
    nlohmann::json statuses = nlohmann::json::object();
    for (auto [code, n] : st.statuses) statuses[std::to_string(code)] = n;
    out["status"] = statuses;
    out["errors"] = st.errors.empty() ? nlohmann::json::object() : nlohmann::json(st.errors);
    out["latency_ms"] = {{"min", ms(l.min())},           {"p50", ms(l.percentile(50))}, {"p90", ms(l.percentile(90))},
                         {"p99", ms(l.percentile(99))}, {"max", ms(l.max())},          {"mean", l.mean() / 1000}};
    if (!st.cfg.quiet) out["results"] = st.results;
    std::printf("%s\n", json_text(out, 2).c_str());
    return;
  }
  std::printf("%zu requests in %.2f s (%.1f req/s): %zu ok, %zu HTTP errors, %zu failed\n", st.total, elapsed_s,
              elapsed_s > 0 ? static_cast<double>(st.total) / elapsed_s : 0.0, st.ok, st.http_errors, st.failed);
  if (!st.statuses.empty()) {
    std::printf("  status ");
    for (auto [code, n] : st.statuses) std::printf("  %d × %zu", code, n);
    std::printf("\n");
  }
  if (!st.errors.empty()) {
    std::printf("  errors ");
    for (const auto& [kind, n] : st.errors) std::printf("  %s × %zu", kind.c_str(), n);
    std::printf("\n");
  }
  std::printf("  latency  min %.1f ms  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n", ms(l.min()),
              ms(l.percentile(50)), ms(l.percentile(90)), ms(l.percentile(99)), ms(l.max()));
}

}  // namespace

int fetch(const fetch_config& cfg) {
  fetch_state st(cfg);
  st.total = cfg.requests ? cfg.requests : cfg.urls.size();
  for (std::size_t i = 0; i < std::min(st.total, cfg.urls.size()); ++i) {
    if (!http::url::parse(with_index(cfg.urls[i], i))) {
      std::fprintf(stderr, "weft fetch: not an http:// or https:// URL: '%s'\n", cfg.urls[i].c_str());
      return 2;
    }
  }
  auto headers = parse_header_options(cfg.headers, "fetch");
  if (!headers) return 2;
  if (cfg.concurrency == 0) {
    std::fprintf(stderr, "weft fetch: -c must be at least 1\n");
    return 2;
  }
  if (!(cfg.timeout_s > 0)) {
    std::fprintf(stderr, "weft fetch: --timeout must be a number of seconds above 0\n");
    return 2;
  }
  st.headers = std::move(*headers);
  st.headers_per_request = has_index(cfg.headers);

  http::client_options options;
  options.max_connections_per_host = cfg.concurrency;
  options.max_redirects = cfg.follow ? 10 : 0;
  options.response_timeout = seconds(cfg.timeout_s);
  options.total_timeout = seconds(cfg.timeout_s);
  options.connect_timeout = std::min(options.total_timeout, seconds(10));
  if (cfg.insecure && !skip_tls_verification(options, "fetch")) return 1;
  raise_descriptor_limit();
  st.start = clock::now();
  runtime_options rt_options;
  rt_options.workers = cfg.threads;
  rt_options.trace_file = cfg.trace_file;
  {
    runtime rt(rt_options);
    rt.block_on(fetch_all(st, std::move(options)));
  }
  print_summary(st, ms_between(st.start, st.last_done) / 1000);
  return st.failed || st.http_errors ? 1 : 0;
}

}  // namespace weft::tool
