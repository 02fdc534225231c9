// `weft serve`: the httpbin API on one or more event loops, shut down gracefully by a signal.
#include <weft/weft.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#include <unistd.h>

#include "cli_util.hpp"
#include "commands.hpp"
#include "httpbin.hpp"

namespace weft::tool {

namespace {

/// Shuts `server` down gracefully on the first SIGINT or SIGTERM, and stops the process at once on a
/// second (for a user who will not wait for the grace period).
task<void> shut_down_on_signal(signal_set& signals, http::server& server) {
  auto sig = co_await signals.next();
  if (!sig) co_return;  // cancelled: the server ended by itself
  std::fprintf(stderr, "weft serve: %s, shutting down (again to stop at once)\n",
               *sig == SIGINT ? "interrupted" : "terminated");
  server.shutdown();
  sig = co_await signals.next();
  if (!sig) co_return;
  std::fprintf(stderr, "weft serve: stopping now\n");
  std::_Exit(128 + *sig);
}

/// The routes of --metrics-port: GET /metrics, the runtime's and the server's metrics in the Prometheus
/// text format. Both snapshots are safe from any worker.
http::router metrics_routes(const runtime& rt, const http::server& server) {
  http::router routes;
  routes.get("/metrics", [&rt, &server](http::request&) -> task<http::response> {
    std::string text;
    append_prometheus(text, rt.metrics());
    append_prometheus(text, server.metrics());
    http::response resp = http::response::text(200, std::move(text));
    resp.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    co_return resp;
  });
  return routes;
}

/// SIGUSR2: writes the flight recorder to weft-serve-PID-N.json in the working directory, from the
/// blocking pool (a dump waits for every loop to hand over its newest events).
task<void> dump_on_signal(runtime& rt) {
  signal_set usr2{SIGUSR2};
  for (int n = 1;; ++n) {
    auto sig = co_await usr2.next();
    if (!sig) co_return;  // cancelled: the server ended
    std::string path = "weft-serve-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".json";
    bool written = co_await spawn_blocking([&rt, &path] { return rt.dump_flight_recorder(path); });
    if (written) {
      std::fprintf(stderr, "weft serve: flight recorder written to %s\n", path.c_str());
    } else {
      std::fprintf(stderr, "weft serve: cannot write the flight recorder to %s\n", path.c_str());
    }
  }
}

}  // namespace

int serve(const serve_config& cfg) {
  auto addr = net::ip_address::parse(cfg.host);
  if (!addr) {
    std::fprintf(stderr, "weft serve: --host must be an IP address, not '%s'\n", cfg.host.c_str());
    return 2;
  }
  http::server_options options = cfg.server;
  options.headers_timeout = seconds(cfg.headers_timeout_s);
  options.keep_alive_timeout = seconds(cfg.keep_alive_timeout_s);
  options.body_timeout = seconds(cfg.body_timeout_s);
  options.send_timeout = seconds(cfg.send_timeout_s);
  options.request_timeout = seconds(cfg.request_timeout_s);
  options.lingering_time = seconds(cfg.lingering_time_s);
  options.shutdown_grace = seconds(cfg.shutdown_grace_s);
  if (!cfg.tls_cert.empty() || !cfg.tls_key.empty()) {
    auto ctx = net::tls_context::server(cfg.tls_cert, cfg.tls_key);
    if (!ctx) {
      std::fprintf(stderr, "weft serve: cannot use --tls-cert '%s' with --tls-key '%s' (missing, unreadable or not a pair)\n",
                   cfg.tls_cert.c_str(), cfg.tls_key.c_str());
      return 2;
    }
    options.tls = *ctx;
  }
  const char* scheme = options.tls ? "https" : "http";

  raise_descriptor_limit();
  signal_set signals{SIGINT, SIGTERM};
  runtime_options rt_options;
  rt_options.workers = cfg.threads;
  rt_options.trace_file = cfg.trace_file;
  rt_options.flight_recorder_events = cfg.trace_file.empty() ? cfg.flight_recorder_events : 0;
  if (cfg.slow_task_ms > 0) {
    rt_options.slow_task_threshold = std::chrono::duration_cast<std::chrono::nanoseconds>(seconds(cfg.slow_task_ms / 1000));
    rt_options.slow_task_dump_file = "weft-serve-" + std::to_string(::getpid()) + "-slow.json";
  }
  runtime rt(rt_options);
  return rt.block_on([&]() -> task<int> {
    http::server server(httpbin_routes(), options);
    if (auto r = server.listen({*addr, cfg.port}); !r) {
      std::fprintf(stderr, "weft serve: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port,
                   r.error().message().c_str());
      co_return 1;
    }
    std::printf("weft serve: listening on %s://%s/ (%zu %s)\n", scheme, server.local_endpoint().to_string().c_str(),
                rt.workers(), rt.workers() == 1 ? "thread" : "threads");
    // Metrics on a listener of their own, so that the httpbin API stays as it is. It stops with the
    // main server.
    std::optional<http::server> metrics;
    join_handle<void> metrics_serving;
    if (cfg.metrics_port) {
      metrics.emplace(metrics_routes(rt, server));
      if (auto r = metrics->listen({*addr, *cfg.metrics_port}); !r) {
        std::fprintf(stderr, "weft serve: cannot listen for --metrics-port on %s:%u: %s\n", cfg.host.c_str(),
                     *cfg.metrics_port, r.error().message().c_str());
        co_return 1;
      }
      std::printf("weft serve: metrics at http://%s/metrics\n", metrics->local_endpoint().to_string().c_str());
      metrics_serving = spawn(metrics->serve());
    }
    std::fflush(stdout);
    auto watcher = spawn(shut_down_on_signal(signals, server));
    join_handle<void> dumper;
    if (rt_options.flight_recorder_events > 0) dumper = spawn(dump_on_signal(rt));
    co_await server.serve();
    watcher.cancel();
    co_await std::move(watcher);
    if (dumper.valid()) {
      dumper.cancel();
      try {
        co_await std::move(dumper);
      } catch (const std::system_error&) {  // cancelled while a dump was being written: it was
      }
    }
    if (metrics) {
      metrics->shutdown();
      co_await std::move(metrics_serving);
    }
    co_return 0;
  }());
}

}  // namespace weft::tool
