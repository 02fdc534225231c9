// `weft load`: keep-alive load on C connections for a duration or a number of requests, like wrk.
//
// Closed model (the default): each connection is a task that sends its next request as soon as the
// last response is read. Open model (--rate R): request k is due at start + k/R, whatever the responses
// take; a free connection sends the next one due, and its latency counts from when it was due, not
// from when it went out (a stalled server then shows in the percentiles, as wrk2 measures: no
// coordinated omission). The client's per-origin pool holds the connections (one per task, -c at most).
// Results are recorded per thread, without locks, and merged at the end: latencies in an
// HdrHistogram-style histogram (microseconds), status codes, errors by kind.
//
// Under mpirun, every rank runs this with its share of -c, -n and --rate (weft::mpi). The ranks check
// that they can connect, start at one wall-clock instant, and send their results to rank 0, which
// merges the histograms by adding counts and prints the one report.
#include <weft/weft.hpp>
#ifdef WEFT_HAVE_MPI
#include <weft/mpi.hpp>
#endif

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cli_util.hpp"
#include "commands.hpp"
#include "histogram.hpp"
#include "json_text.hpp"

namespace weft::tool {

namespace {

/// What one thread saw. Only its thread writes it; the progress line reads `done` alone.
struct recorder {
  latency_histogram latency;
  std::array<std::uint64_t, 600> statuses{};  // by code; anything outside 100..599 counts at 0
  std::map<std::string, std::uint64_t> errors;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  std::uint64_t late = 0;         // open model: requests sent more than late_after past when they were due
  std::uint64_t latest_us = 0;    // the latest of those, by how much
  clock::time_point last{};  // the last completion this thread saw
  std::atomic<std::uint64_t> done{0};

  void merge(const recorder& r) {
    latency.merge(r.latency);
    for (std::size_t i = 0; i < statuses.size(); ++i) statuses[i] += r.statuses[i];
    for (const auto& [kind, n] : r.errors) errors[kind] += n;
    failed += r.failed;
    bytes += r.bytes;
    late += r.late;
    latest_us = std::max(latest_us, r.latest_us);
    last = std::max(last, r.last);
  }
};

/// A request of the open model counts as late if it goes out more than this after it was due (the
/// timer's own lateness stays well below it).
constexpr auto late_after = std::chrono::milliseconds(5);

struct load_state {
  const load_config& cfg;
  http::client_request request;
  std::uint64_t limit = 0;                 // requests in all; 0: until the deadline
  std::atomic<std::uint64_t> claimed{0};  // requests handed out so far (with a limit, or a rate)
  double rate = 0;                         // open model: this process's requests per second; 0: closed
  clock::time_point end{};                 // open model with a duration: no request is due from here
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

  /// Open model: when the next request is due, or nothing once the last one is handed out.
  std::optional<clock::time_point> take_due() {
    if (stop.load(std::memory_order_relaxed)) return std::nullopt;
    std::uint64_t k = claimed.fetch_add(1, std::memory_order_relaxed);
    if (limit != 0 && k >= limit) return std::nullopt;
    auto due = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(static_cast<double>(k) / rate));
    if (end != clock::time_point{} && due >= end) return std::nullopt;
    return due;
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

/// The open model's connection: sends the next request due, when it is due (or at once, if late).
task<void> scheduled_connection(load_state& st, http::client& http) {
  while (auto due = st.take_due()) {
    auto now = clock::now();
    if (*due > now) {
      if (!co_await sleep_until(*due)) co_return;  // cancelled
    } else if (now - *due > late_after) {
      recorder& rec = st.mine();
      ++rec.late;
      rec.latest_us = std::max<std::uint64_t>(rec.latest_us, std::chrono::duration_cast<std::chrono::microseconds>(now - *due).count());
    }
    auto r = co_await http.send(st.request);
    record(st.mine(), r, *due, clock::now());
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

/// Runs the load from `start` (now, or the instant every rank agreed on) for `duration` (or to the limit).
task<void> drive(load_state& st, http::client_options options, clock::duration duration, clock::time_point start,
                 std::size_t connection_count) {
  http::client http(std::move(options));
  if (start > clock::now()) co_await sleep_until(start);
  st.start = start;
  if (st.rate > 0 && duration > clock::duration::zero()) st.end = start + duration;
  std::vector<join_handle<void>> connections;
  for (std::size_t c = 0; c < connection_count; ++c) {
    connections.push_back(spawn(st.rate > 0 ? scheduled_connection(st, http) : connection(st, http)));
  }
  auto pacer = spawn(pace(st, duration, start));
  co_await join_all(connections);  // every one, even if one throws: they use this frame's state
  st.stop.store(true, std::memory_order_relaxed);
  pacer.cancel();
  co_await std::move(pacer);
}

/// What the report says beyond the recorder: the run as a whole.
struct run_facts {
  double elapsed_s = 0;
  int ranks = 1;
  std::size_t connections = 0;  // in all ranks
  std::uint64_t due = 0;        // open model: requests due in the run (rate × duration), 0 otherwise
};

void report(const load_config& cfg, const recorder& all, const run_facts& run) {
  const latency_histogram& l = all.latency;
  auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000; };
  double rps = run.elapsed_s > 0 ? static_cast<double>(l.count()) / run.elapsed_s : 0;
  std::uint64_t sent = l.count() + all.failed;
  if (cfg.json) {
    nlohmann::json out;
    out["url"] = cfg.url;
    out["connections"] = run.connections;
    out["threads"] = cfg.threads;
    out["ranks"] = run.ranks;
    out["requests"] = l.count();  // responses
    out["failed"] = all.failed;
    out["elapsed_s"] = run.elapsed_s;
    out["rps"] = rps;
    out["bytes"] = all.bytes;
    if (cfg.rate > 0) {
      out["rate"] = {{"target", cfg.rate}, {"due", run.due}, {"sent", sent}, {"late", all.late},
                     {"latest_ms", ms(all.latest_us)}};
    }
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
    std::printf("%s\n", json_text(out, 2).c_str());
    return;
  }
  std::printf("%llu responses in %.2f s, %.1f MB read: %.0f req/s (%llu failed)\n",
              static_cast<unsigned long long>(l.count()), run.elapsed_s, static_cast<double>(all.bytes) / 1e6, rps,
              static_cast<unsigned long long>(all.failed));
  if (cfg.rate > 0) {
    std::printf("  rate      %g/s: %llu due, %llu sent, %llu late by more than %lld ms (the latest by %.1f ms)\n", cfg.rate,
                static_cast<unsigned long long>(run.due), static_cast<unsigned long long>(sent),
                static_cast<unsigned long long>(all.late), static_cast<long long>(late_after.count()), ms(all.latest_us));
  }
  std::printf("  latency   p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   p99.9 %.2f ms   max %.2f ms%s\n",
              ms(l.percentile(50)), ms(l.percentile(90)), ms(l.percentile(99)), ms(l.percentile(99.9)), ms(l.max()),
              cfg.rate > 0 ? "   (from when each was due)" : "");
  std::printf("  status  ");
  for (std::size_t code = 0; code < all.statuses.size(); ++code) {
    if (all.statuses[code] != 0) std::printf("  %zu × %llu", code, static_cast<unsigned long long>(all.statuses[code]));
  }
  std::printf("\n  errors  ");
  if (all.errors.empty()) std::printf("  none");
  for (const auto& [kind, n] : all.errors) std::printf("  %s × %llu", kind.c_str(), static_cast<unsigned long long>(n));
  std::printf("\n");
}

/// The histogram as an HdrHistogram log (the format HdrHistogram's HistogramLogWriter writes): one
/// interval, the whole run, values in microseconds (its Interval_Max in milliseconds).
bool write_hdr_log(const std::string& path, const recorder& all, double start_unix_s, double elapsed_s) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return false;
  std::time_t whole = static_cast<std::time_t>(start_unix_s);
  char when[64];
  std::strftime(when, sizeof when, "%a %b %d %H:%M:%S UTC %Y", std::gmtime(&whole));
  char line[256];
  out << "#[Histogram log format version 1.3]\n";
  std::snprintf(line, sizeof line, "#[StartTime: %.3f (seconds since epoch), %s]\n", start_unix_s, when);
  out << line << "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
  std::snprintf(line, sizeof line, "%.3f,%.3f,%.3f,", 0.0, elapsed_s, static_cast<double>(all.latency.max()) / 1000);
  out << line << all.latency.hdr_compressed_base64() << "\n";
  return static_cast<bool>(out.flush());
}

/// This process's share of `total` when `parts` processes split it (the first ones take the remainder).
std::uint64_t share_of(std::uint64_t total, int part, int parts) {
  return total / static_cast<std::uint64_t>(parts) + (static_cast<std::uint64_t>(part) < total % static_cast<std::uint64_t>(parts) ? 1 : 0);
}

#ifdef WEFT_HAVE_MPI
/// Whether this process can reach the URL's host and port (a TCP connection, closed at once).
std::string cannot_connect(const http::url& u, double timeout_s) {
  return run([&]() -> task<std::string> {
    auto s = co_await net::tcp_stream::connect(u.host, u.port, seconds(timeout_s));
    co_return s ? std::string() : s.error().message();
  }());
}

/// A recorder as bytes, for rank 0: the histogram, then the counters, then the errors as "kind\tn\n".
std::string to_bytes(const recorder& r, double elapsed_s) {
  std::string out = r.latency.to_bytes();
  std::uint64_t counters[5] = {r.failed, r.bytes, r.late, r.latest_us, 0};
  std::memcpy(&counters[4], &elapsed_s, sizeof elapsed_s);
  out.append(reinterpret_cast<const char*>(counters), sizeof counters);
  out.append(reinterpret_cast<const char*>(r.statuses.data()), sizeof r.statuses);
  for (const auto& [kind, n] : r.errors) out += kind + "\t" + std::to_string(n) + "\n";
  return out;
}

/// Adds what to_bytes wrote into `all`; returns that rank's elapsed time (-1 if the bytes are not that).
double merge_bytes(recorder& all, std::string_view bytes) {
  constexpr std::size_t histogram = latency_histogram::byte_size();
  std::uint64_t counters[5];
  if (bytes.size() < histogram + sizeof counters + sizeof all.statuses) return -1;
  recorder r;
  if (!r.latency.merge_bytes(bytes.substr(0, histogram))) return -1;
  std::memcpy(counters, bytes.data() + histogram, sizeof counters);
  std::memcpy(r.statuses.data(), bytes.data() + histogram + sizeof counters, sizeof r.statuses);
  for (std::string_view rest = bytes.substr(histogram + sizeof counters + sizeof r.statuses); !rest.empty();) {
    std::size_t tab = rest.find('\t');
    std::size_t nl = rest.find('\n');
    if (tab == std::string_view::npos || nl == std::string_view::npos || nl < tab) return -1;
    r.errors[std::string(rest.substr(0, tab))] += std::strtoull(std::string(rest.substr(tab + 1, nl - tab - 1)).c_str(), nullptr, 10);
    rest.remove_prefix(nl + 1);
  }
  r.failed = counters[0];
  r.bytes = counters[1];
  r.late = counters[2];
  r.latest_us = counters[3];
  double elapsed_s;
  std::memcpy(&elapsed_s, &counters[4], sizeof elapsed_s);
  all.merge(r);
  return elapsed_s;
}
#endif

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
  auto target = http::url::parse(cfg.url);
  if (cfg.connections == 0 || !target) {
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

  // Under mpirun: this rank's share of the connections, the requests and the rate.
  int rank = 0;
  int ranks = 1;
#ifdef WEFT_HAVE_MPI
  std::unique_ptr<mpi::environment> mpi_env;
  if (mpi::environment::launched_by_mpirun()) {
    mpi_env = std::make_unique<mpi::environment>();
    rank = mpi_env->world().rank();
    ranks = mpi_env->world().size();
  }
#endif
  std::size_t connections = share_of(cfg.connections, rank, ranks);
  st.limit = share_of(cfg.requests, rank, ranks);
  st.rate = cfg.rate / ranks;
  if (connections == 0 || (cfg.requests != 0 && st.limit == 0)) {
    if (rank == 0) std::fprintf(stderr, "weft load: %d ranks need at least %d connections and requests\n", ranks, ranks);
    return 2;
  }

  http::client_options options;
  options.max_connections_per_host = connections;
  options.response_timeout = seconds(cfg.timeout_s);
  options.connect_timeout = seconds(cfg.timeout_s);
  if (cfg.insecure && !skip_tls_verification(options, "load")) return 1;
  raise_descriptor_limit();

  // Every rank starts at one instant of the wall clock (which hosts keep in step), a little ahead, after
  // each has shown it can connect; a rank that cannot ends the job, on every rank.
  auto start = clock::now();
  double start_unix_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
#ifdef WEFT_HAVE_MPI
  if (mpi_env) {
    std::string why = cannot_connect(*target, cfg.timeout_s);
    if (!why.empty()) std::fprintf(stderr, "weft load: rank %d cannot connect to %s: %s\n", rank, cfg.url.c_str(), why.c_str());
    auto world = mpi_env->world();
    bool go = run([&]() -> task<bool> {
      std::array<int, 1> failed{why.empty() ? 0 : 1};
      std::array<int, 1> any{0};
      if (!co_await world.all_reduce(failed, any, mpi::reduce_op::max) || any[0] != 0) co_return false;
      std::array<double, 1> begin{start_unix_s + 0.2};
      if (!co_await world.broadcast(begin, 0)) co_return false;
      start_unix_s = begin[0];
      co_return true;
    }());
    if (!go) {
      if (rank == 0) std::fprintf(stderr, "weft load: not started: a rank cannot connect (above)\n");
      return 1;
    }
    auto wall_now = std::chrono::system_clock::now().time_since_epoch();
    start = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(start_unix_s) - wall_now);
  }
#endif
  if (!cfg.json && rank == 0) {
    std::string what = cfg.requests ? std::to_string(cfg.requests) + " requests" : format_seconds(duration);
    std::size_t threads = cfg.threads != 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
    std::printf("weft load: %s %s, %zu connections, %zu %s", st.request.method.c_str(), cfg.url.c_str(), cfg.connections,
                threads, threads == 1 ? "thread" : "threads");
    if (ranks > 1) std::printf(" in each of %d ranks", ranks);
    if (cfg.rate > 0) std::printf(", %g requests/s", cfg.rate);
    std::printf(", for %s\n", what.c_str());
    std::fflush(stdout);
  }
  runtime_options rt_options;
  rt_options.workers = cfg.threads;
  rt_options.trace_file = cfg.trace_file;
  {
    runtime rt(rt_options);
    rt.block_on(drive(st, std::move(options), duration, start, connections));
  }
  recorder all;
  all.last = st.start;
  for (auto& r : st.recorders) all.merge(*r);
  // From the first request to the last completion: not the runtime's start-up or shutdown.
  run_facts facts;
  facts.elapsed_s = std::chrono::duration<double>(all.last - st.start).count();
  facts.ranks = ranks;
  facts.connections = cfg.connections;
  if (cfg.rate > 0) {
    double due = cfg.rate * std::chrono::duration<double>(duration).count();
    facts.due = cfg.requests != 0 ? cfg.requests : static_cast<std::uint64_t>(std::ceil(due));
  }
#ifdef WEFT_HAVE_MPI
  if (mpi_env) {
    // Rank 0 gathers every rank's recorder and adds them up: counts, never percentiles.
    auto world = mpi_env->world();
    bool merged = run([&]() -> task<bool> {
      if (rank != 0) {
        std::string mine = to_bytes(all, facts.elapsed_s);
        co_return (co_await world.send(mine, 0, 1)).has_value();
      }
      for (int from = 1; from < ranks; ++from) {
        auto found = co_await world.probe(from, 1);
        if (!found) co_return false;
        std::string theirs(found->bytes, '\0');
        if (!co_await world.recv(theirs, from, 1)) co_return false;
        double elapsed = merge_bytes(all, theirs);
        if (elapsed < 0) co_return false;
        facts.elapsed_s = std::max(facts.elapsed_s, elapsed);
      }
      co_return true;
    }());
    if (!merged) {
      std::fprintf(stderr, "weft load: rank %d: the ranks' results could not be gathered\n", rank);
      return 1;
    }
    if (rank != 0) return all.errors.empty() ? 0 : 1;
  }
#endif
  report(cfg, all, facts);
  if (!cfg.hdr_log.empty() && !write_hdr_log(cfg.hdr_log, all, start_unix_s, facts.elapsed_s)) {
    std::fprintf(stderr, "weft load: cannot write %s\n", cfg.hdr_log.c_str());
    return 1;
  }
  return all.errors.empty() ? 0 : 1;
}

}  // namespace weft::tool
