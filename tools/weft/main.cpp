// weft: the command-line tool. Each subcommand lives in a file of its own; this one reads the
// command line.
//
//   weft serve [options]        an httpbin-compatible HTTP server
//   weft fetch URL... [options] concurrent requests, one line per response in arrival order
//   weft load URL [options]     keep-alive load with latency percentiles
//   weft demo                   the news feed and the concurrent requests against an embedded server (`make run`)
//   weft trace view FILE...     trace files drawn as one HTML page
#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace {

using namespace weft::tool;

void add_trace_option(CLI::App* cmd, std::string& file) {
  cmd->add_option("--trace", file,
                  "Write a timeline of every task to FILE: Chrome/Perfetto trace JSON (open it in ui.perfetto.dev)");
}

void add_serve(CLI::App& app, serve_config& cfg, CLI::App*& cmd) {
  cmd = app.add_subcommand("serve", "Serve the httpbin API (httpbin 0.7 compatible) over HTTP/1.1");
  cmd->add_option("--host", cfg.host, "IP address to listen on")->capture_default_str();
  cmd->add_option("-p,--port", cfg.port, "TCP port (0: any free port, printed at start)")->capture_default_str();
  cmd->add_option("--max-header-bytes", cfg.server.max_header_bytes, "Largest header section (else 431)")
      ->capture_default_str();
  cmd->add_option("--max-request-line", cfg.server.max_request_line, "Longest request target (else 414)")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", cfg.server.max_body_bytes, "Largest request body (else 413)")
      ->capture_default_str();
  cmd->add_option("--headers-timeout", cfg.headers_timeout_s, "Seconds to receive a request's headers (else 408)")
      ->capture_default_str();
  cmd->add_option("--keep-alive-timeout", cfg.keep_alive_timeout_s, "Seconds an idle connection stays open")
      ->capture_default_str();
  cmd->add_option("--body-timeout", cfg.body_timeout_s, "Seconds a request body may bring no byte (else 408)")
      ->capture_default_str();
  cmd->add_option("--min-body-rate", cfg.server.min_body_rate,
                  "Bytes a second a body must average after its first --body-timeout (else 408; 0: none)")
      ->capture_default_str();
  cmd->add_option("--send-timeout", cfg.send_timeout_s, "Seconds a response write may make no progress (else close)")
      ->capture_default_str();
  cmd->add_option("--send-buffer", cfg.server.send_buffer_bytes,
                  "Kernel send buffer per connection, bytes (bounds what a client that stops reading holds; 0: the kernel's)")
      ->capture_default_str();
  cmd->add_option("--request-timeout", cfg.request_timeout_s,
                  "Seconds from a request's first byte to its response (else 503, handler cancelled; 0: none)")
      ->capture_default_str();
  cmd->add_option("--lingering-time", cfg.lingering_time_s,
                  "Seconds to read and discard a client's unread bytes before closing after an error")
      ->capture_default_str();
  cmd->add_option("--max-header-fields", cfg.server.max_header_fields, "Header fields per request (else 431)")
      ->capture_default_str();
  cmd->add_option("--max-connections", cfg.server.max_connections, "Open connections at most (beyond: 503)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", cfg.threads, "Event loops, one per thread, sharing the port (0: one per core)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", cfg.tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", cfg.tls_key, "PEM private key for --tls-cert");
  cmd->add_option("--shutdown-grace", cfg.shutdown_grace_s, "Seconds in-flight requests get to finish after SIGINT/SIGTERM")
      ->capture_default_str();
  cmd->add_option("--metrics-port", cfg.metrics_port,
                  "Serve GET /metrics (Prometheus text: runtime and server) on this port too (0: any free port)");
  add_trace_option(cmd, cfg.trace_file);
  cmd->add_option("--flight-recorder", cfg.flight_recorder_events,
                  "Recent events kept in memory; SIGUSR2 writes them to weft-serve-PID-N.json (0: off)")
      ->capture_default_str();
  cmd->add_option("--slow-task-ms", cfg.slow_task_ms,
                  "Report a task that holds a loop this long, and write the flight recorder to weft-serve-PID-slow.json (0: off)")
      ->capture_default_str();
}

void add_fetch(CLI::App& app, fetch_config& cfg, CLI::App*& cmd) {
  cmd = app.add_subcommand("fetch", "Send requests concurrently; print each response as it arrives");
  cmd->add_option("url", cfg.urls, "URLs, taken in turn ({i}: the request's index)")->required();
  cmd->add_option("-n,--requests", cfg.requests, "Requests in all (default: one per URL)");
  cmd->add_option("-c,--concurrency", cfg.concurrency, "Requests in flight at most")->capture_default_str();
  cmd->add_option("-H,--header", cfg.headers, "A header, 'Name: value' ({i}: the request's index)");
  cmd->add_option("-X,--method", cfg.method, "Method (default: GET, or POST with -d)");
  cmd->add_option("-d,--data", cfg.body, "Request body ({i}: the request's index)");
  cmd->add_option("--timeout", cfg.timeout_s, "Seconds each request may take")->capture_default_str();
  cmd->add_flag("-b,--body", cfg.show_body, "Print each response's body after its line");
  cmd->add_flag("-q,--quiet", cfg.quiet, "No line per response: the summary only");
  cmd->add_flag("--json", cfg.json, "Print the results and summary as one JSON object");
  cmd->add_flag("-k,--insecure", cfg.insecure, "Do not verify https servers' certificates");
  cmd->add_flag("-L,--location", cfg.follow, "Follow redirects (10 at most)");
  cmd->add_option("-t,--threads", cfg.threads, "Event loops, one per thread (0: one per core)")->capture_default_str();
  add_trace_option(cmd, cfg.trace_file);
}

void add_load(CLI::App& app, load_config& cfg, CLI::App*& cmd) {
  cmd = app.add_subcommand("load", "Keep-alive load on C connections, with latency percentiles (like wrk)");
  cmd->add_option("url", cfg.url, "The URL to load")->required();
  cmd->add_option("-c,--connections", cfg.connections, "Connections, each with one request in flight")
      ->capture_default_str();
  auto* d = cmd->add_option("-d,--duration", cfg.duration, "How long: 10s, 500ms, 2m (default 10s)");
  cmd->add_option("-n,--requests", cfg.requests, "Requests in all, instead of a duration")->excludes(d);
  cmd->add_option("-t,--threads", cfg.threads, "Event loops, one per thread (0: one per core)")->capture_default_str();
  cmd->add_option("-H,--header", cfg.headers, "A header, 'Name: value'");
  cmd->add_option("-X,--method", cfg.method, "Method (default: GET, or POST with --body)");
  cmd->add_option("--body", cfg.body, "Request body");
  cmd->add_option("--timeout", cfg.timeout_s, "Seconds to connect, and to wait for each response")->capture_default_str();
  cmd->add_flag("--json", cfg.json, "Print the results as one JSON object");
  cmd->add_flag("-k,--insecure", cfg.insecure, "Do not verify https servers' certificates");
  cmd->add_option("-R,--rate", cfg.rate,
                  "Requests per second in all, sent on schedule whatever the responses take (open model); "
                  "latency counts from each request's scheduled time")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--hdr-log", cfg.hdr_log, "Write the latency histogram (microseconds) as an HdrHistogram log (V2, compressed)");
  add_trace_option(cmd, cfg.trace_file);
  cmd->footer("Under mpirun (mpirun -np N weft load URL ...), each rank drives its share of the connections, the "
              "rate and the requests; all start together, and rank 0 prints one report of them all.");
}

void add_demo(CLI::App& app, demo_config& cfg, CLI::App*& cmd) {
  cmd = app.add_subcommand("demo", "The news feed and the concurrent requests for real, against an embedded server (make run)");
  cmd->add_flag("--no-modes", cfg.skip_modes, "Leave out the three-modes section (the longest)");
  add_trace_option(cmd, cfg.trace_file);
  cmd->add_option("--timeline", cfg.timeline_file,
                  "Draw the run as one HTML page (SVG, no network): each section's tasks on their loops");
}

void add_trace(CLI::App& app, trace_view_config& cfg, CLI::App*& view) {
  CLI::App* cmd = app.add_subcommand("trace", "Work with trace files (--trace, WEFT_TRACE)");
  cmd->require_subcommand(1);
  view = cmd->add_subcommand("view", "Draw trace files as one HTML page: tasks as bars on worker lanes, on one time axis");
  view->add_option("trace", cfg.files, "Trace files (Chrome/Perfetto JSON from weft)")->required()->check(CLI::ExistingFile);
  view->add_option("-o,--output", cfg.output, "The HTML page to write")->capture_default_str();
  view->add_option("--title", cfg.title, "The page's title");
  view->add_option("--max-task-rows", cfg.max_task_rows, "Rows of tasks drawn per trace (the rest are counted)")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  // `weft demo` runs its child processes as `weft demo-job ARGS...` (not in --help: not for people).
  if (argc > 1 && std::string_view(argv[1]) == "demo-job") return demo_job(std::vector<std::string>(argv + 2, argv + argc));
  CLI::App app{"weft: sequential, concurrent and parallel work, and the HTTP tools built on it"};
  app.require_subcommand(1);
  serve_config serve_cfg;
  fetch_config fetch_cfg;
  CLI::App* serve_cmd = nullptr;
  load_config load_cfg;
  demo_config demo_cfg;
  CLI::App* fetch_cmd = nullptr;
  CLI::App* load_cmd = nullptr;
  CLI::App* demo_cmd = nullptr;
  trace_view_config view_cfg;
  CLI::App* view_cmd = nullptr;
  add_serve(app, serve_cfg, serve_cmd);
  add_fetch(app, fetch_cfg, fetch_cmd);
  add_load(app, load_cfg, load_cmd);
  add_demo(app, demo_cfg, demo_cmd);
  add_trace(app, view_cfg, view_cmd);
  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return serve(serve_cfg);
  if (fetch_cmd->parsed()) return fetch(fetch_cfg);
  if (load_cmd->parsed()) return load(load_cfg);
  if (demo_cmd->parsed()) return demo(demo_cfg);
  if (view_cmd->parsed()) return trace_view(view_cfg);
  return 0;
}
