// What the weft tool's subcommands share: durations, descriptor limits, header options, error names,
// and a progress line on the terminal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <weft/http/client.hpp>
#include <weft/http/headers.hpp>
#include <weft/time.hpp>

namespace weft::tool {

clock::duration seconds(double s);
/// "10s", "250ms", "2m", "1h", or a plain number of seconds; nullopt if none of these.
std::optional<clock::duration> parse_duration(std::string_view text);

/// Lets this process open as many descriptors as its hard limit allows (as Go does at start): 10,000
/// connections need more than the usual soft limit of 1,024.
void raise_descriptor_limit();

/// Parses "Name: value" options into headers, with every "{i}" in a value replaced by `index`.
/// nullopt (and a message on stderr) for an option without a colon or a name.
std::optional<http::headers> parse_header_options(const std::vector<std::string>& options, const char* command);
/// `text` with each "{i}" replaced by `index`.
std::string with_index(std::string_view text, std::size_t index);
/// True if some option holds "{i}" (each request then needs its own copy).
bool has_index(const std::vector<std::string>& texts);

/// -k: `options` trusts any https server. False (and a message on stderr) if TLS cannot be set up.
bool skip_tls_verification(http::client_options& options, const char* command);

/// A short name for an error, for counts by kind: "refused", "reset", "timed out", "tls", "bad response",
/// "cut short", "too large", "host not found", "canceled", or the error's message.
std::string error_kind(std::error_code ec);

/// One status line on stderr, redrawn in place, when stderr is a terminal (otherwise it prints nothing).
class progress_line {
 public:
  progress_line();
  bool enabled() const noexcept { return enabled_; }
  void draw(const std::string& text);
  /// Erases the line (before printing something else on the terminal).
  void clear();

 private:
  bool enabled_ = false;
  bool shown_ = false;
};

/// "[#####.....]": a bar `width` wide, `done` of `total` filled.
std::string bar(std::size_t done, std::size_t total, int width = 30);

}  // namespace weft::tool
