// The weft tool's subcommands: what each takes (filled in by main.cpp's command line) and runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <weft/http/server.hpp>

namespace weft::tool {

struct serve_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  http::server_options server;
  double headers_timeout_s = 60;
  double keep_alive_timeout_s = 5;
  double body_timeout_s = 60;
  double send_timeout_s = 60;
  double request_timeout_s = 300;
  double lingering_time_s = 5;
  double shutdown_grace_s = 10;
  std::string tls_cert;
  std::string tls_key;
  std::size_t threads = 1;
  /// --metrics-port: GET /metrics (Prometheus text) on its own listener, same host; 0: any free port.
  std::optional<std::uint16_t> metrics_port;
  std::string trace_file;  ///< --trace
  /// --flight-recorder N: events kept for SIGUSR2 and slow-task dumps (0: off; off with --trace).
  std::size_t flight_recorder_events = 65536;
  double slow_task_ms = 0;  ///< --slow-task-ms: report (and dump) turns that hold a loop this long
};
/// `weft serve`: the httpbin API until SIGINT/SIGTERM.
int serve(const serve_config& cfg);

struct fetch_config {
  std::vector<std::string> urls;
  std::size_t requests = 0;      ///< 0: one per URL
  std::size_t concurrency = 100;
  std::vector<std::string> headers;  ///< "Name: value"; {i} becomes the request's index
  std::string method;                ///< empty: GET, or POST with a body
  std::string body;
  double timeout_s = 30;
  bool json = false;
  bool quiet = false;      ///< no line per request
  bool show_body = false;  ///< each response's body after its line
  bool insecure = false;   ///< https without verifying the server
  bool follow = false;     ///< follow redirects (10 at most)
  std::size_t threads = 1; ///< event loops (0: one per core)
  std::string trace_file;  ///< --trace
};
/// `weft fetch`: the concurrent requests to /delay/N of the essay weft started from, as a tool. Exit status 1 if any request failed.
int fetch(const fetch_config& cfg);

struct load_config {
  std::string url;
  std::size_t connections = 50;
  std::string duration;    ///< "10s", "500ms", "1m"; empty with requests set
  std::size_t requests = 0;
  std::size_t threads = 1;
  std::vector<std::string> headers;
  std::string method;  ///< empty: GET, or POST with a body
  std::string body;
  double timeout_s = 10;
  bool json = false;
  bool insecure = false;
  std::string trace_file;  ///< --trace
  double rate = 0;         ///< --rate: requests per second in all (open model); 0: closed model
  std::string hdr_log;     ///< --hdr-log: the latency histogram as an HdrHistogram log
};
/// `weft load`: keep-alive load with latency percentiles, like wrk.
int load(const load_config& cfg);

struct demo_config {
  bool skip_modes = false;  ///< leave out the three-modes section (the fastest run)
  /// --timeline: trace the demo's runtimes and draw them, section by section, as one HTML page here.
  std::string timeline_file;
  /// --trace: every runtime of the demo writes its timeline, the first to this file, the next ones to
  /// FILE.2, FILE.3, ... before the extension; its child processes to FILE.pidN.
  std::string trace_file;
};
/// `weft demo`: the news feed and the concurrent requests against an embedded server.
int demo(const demo_config& cfg);
/// `weft demo` runs its processes as `weft demo-job ...`: one job, its checksum on stdout.
int demo_job(const std::vector<std::string>& args);

struct trace_view_config {
  std::vector<std::string> files;  ///< trace files, drawn on one time axis
  std::string output = "timeline.html";
  std::string title;
  std::size_t max_task_rows = 80;  ///< rows of tasks per trace; the rest are counted
};
/// `weft trace view`: trace files as one self-contained HTML page.
int trace_view(const trace_view_config& cfg);

}  // namespace weft::tool
