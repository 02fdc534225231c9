// weft: the command-line tool.
//
//   weft serve [options]     an httpbin-compatible HTTP server (see `weft serve --help`)
#include <weft/weft.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <sys/resource.h>
#include <string>

#include "httpbin.hpp"

namespace {

struct serve_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  weft::http::server_options server;
  double headers_timeout_s = 60;
  double keep_alive_timeout_s = 5;
  double shutdown_grace_s = 10;
  std::string tls_cert;
  std::string tls_key;
  std::size_t threads = 1;
};

weft::clock::duration seconds(double s) {
  return std::chrono::duration_cast<weft::clock::duration>(std::chrono::duration<double>(s));
}

/// Shuts `server` down gracefully on the first SIGINT or SIGTERM, and stops the process at once on a
/// second (for a user who will not wait for the grace period).
weft::task<void> shut_down_on_signal(weft::signal_set& signals, weft::http::server& server) {
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

/// Lets this process open as many descriptors as its hard limit allows (as Go does at start): a server
/// with 10,000 clients needs more than the usual soft limit of 1,024.
void raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

int serve(const serve_config& cfg) {
  auto addr = weft::net::ip_address::parse(cfg.host);
  if (!addr) {
    std::fprintf(stderr, "weft serve: --host must be an IP address, not '%s'\n", cfg.host.c_str());
    return 2;
  }
  weft::http::server_options options = cfg.server;
  options.headers_timeout = seconds(cfg.headers_timeout_s);
  options.keep_alive_timeout = seconds(cfg.keep_alive_timeout_s);
  options.shutdown_grace = seconds(cfg.shutdown_grace_s);
  if (!cfg.tls_cert.empty() || !cfg.tls_key.empty()) {
    auto ctx = weft::net::tls_context::server(cfg.tls_cert, cfg.tls_key);
    if (!ctx) {
      std::fprintf(stderr, "weft serve: cannot use --tls-cert '%s' with --tls-key '%s' (missing, unreadable or not a pair)\n",
                   cfg.tls_cert.c_str(), cfg.tls_key.c_str());
      return 2;
    }
    options.tls = *ctx;
  }
  const char* scheme = options.tls ? "https" : "http";

  raise_descriptor_limit();
  weft::signal_set signals{SIGINT, SIGTERM};
  weft::runtime_options rt_options;
  rt_options.workers = cfg.threads;
  weft::runtime rt(rt_options);
  return rt.block_on([&]() -> weft::task<int> {
    weft::http::server server(weft::tool::httpbin_routes(), options);
    if (auto r = server.listen({*addr, cfg.port}); !r) {
      std::fprintf(stderr, "weft serve: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port,
                   r.error().message().c_str());
      co_return 1;
    }
    std::printf("weft serve: listening on %s://%s/ (%zu %s)\n", scheme, server.local_endpoint().to_string().c_str(),
                rt.workers(), rt.workers() == 1 ? "thread" : "threads");
    std::fflush(stdout);
    auto watcher = weft::spawn(shut_down_on_signal(signals, server));
    co_await server.serve();
    watcher.cancel();
    co_await std::move(watcher);
    co_return 0;
  }());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft: sequential, concurrent and parallel work, and the HTTP tools built on it"};
  app.require_subcommand(1);

  serve_config cfg;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve the httpbin API (httpbin 0.7 compatible) over HTTP/1.1");
  serve_cmd->add_option("--host", cfg.host, "IP address to listen on")->capture_default_str();
  serve_cmd->add_option("-p,--port", cfg.port, "TCP port (0: any free port, printed at start)")->capture_default_str();
  serve_cmd->add_option("--max-header-bytes", cfg.server.max_header_bytes, "Largest header section (else 431)")
      ->capture_default_str();
  serve_cmd->add_option("--max-request-line", cfg.server.max_request_line, "Longest request target (else 414)")
      ->capture_default_str();
  serve_cmd->add_option("--max-body-bytes", cfg.server.max_body_bytes, "Largest request body (else 413)")
      ->capture_default_str();
  serve_cmd->add_option("--headers-timeout", cfg.headers_timeout_s, "Seconds to receive a request's headers (else 408)")
      ->capture_default_str();
  serve_cmd->add_option("--keep-alive-timeout", cfg.keep_alive_timeout_s, "Seconds an idle connection stays open")
      ->capture_default_str();
  serve_cmd->add_option("--max-connections", cfg.server.max_connections, "Open connections at most (beyond: 503)")
      ->capture_default_str();
  serve_cmd->add_option("-t,--threads", cfg.threads,
                        "Event loops, one per thread, sharing the port (0: one per core)")
      ->capture_default_str();
  serve_cmd->add_option("--tls-cert", cfg.tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)");
  serve_cmd->add_option("--tls-key", cfg.tls_key, "PEM private key for --tls-cert");
  serve_cmd->add_option("--shutdown-grace", cfg.shutdown_grace_s,
                        "Seconds in-flight requests get to finish after SIGINT/SIGTERM")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return serve(cfg);
  return 0;
}
