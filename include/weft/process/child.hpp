// Child processes: start a program, talk to it through pipes, wait for it without blocking the loop.
//
//     using namespace weft::process;
//     auto out = co_await command("git").arg("log").arg("-1").output();     // result<completed>
//     if (out && out->status.success()) std::puts(out->out.c_str());
//
//     auto c = command("sort").std_in(stdio::piped).std_out(stdio::piped).spawn();   // result<child>
//     co_await c->in.write_all("b\na\n");
//     c->in.close();
//     std::string sorted;
//     co_await c->out.read_to_end(sorted);
//     auto status = co_await c->wait();                                       // result<exit_status>
//
// A child is waited for through a pidfd in the loop's reactor, so a thousand children cost no threads.
// A child inherits only its three standard streams: every other descriptor is closed in the child,
// whether weft opened it (all close-on-exec) or the program did without close-on-exec. The
// child starts with no signals blocked and every signal at its default action (SIGPIPE included,
// which weft itself ignores).
//
// No zombies: a child whose handle is dropped before it was waited for is killed (SIGKILL) unless it
// was detached, and either way a process-wide reaper thread collects its exit status.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/error.hpp"
#include "weft/net/socket.hpp"
#include "weft/process/pipe.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::process {

/// How the child's stdin, stdout or stderr is set up.
enum class stdio : std::uint8_t {
  inherit,  ///< the same as this process's
  null,     ///< /dev/null
  piped,    ///< a pipe: the child's `in`, `out` or `err` in this process
};

/// How a child ended: it exited with `code`, or a signal (`signal` != 0) killed it.
struct exit_status {
  int code = -1;   ///< the exit code; -1 when killed by a signal
  int signal = 0;  ///< the signal that killed it; 0 when it exited
  bool success() const noexcept { return signal == 0 && code == 0; }
  /// "exit code 3" or "killed by signal 9 (Killed)".
  std::string describe() const;
  friend bool operator==(const exit_status&, const exit_status&) = default;
};

/// What `command::output()` collects: how the child ended and what it printed.
struct completed {
  exit_status status;
  std::string out;  ///< everything the child wrote to stdout
  std::string err;  ///< everything the child wrote to stderr
};

namespace detail {
/// Waits for the child behind a pidfd to end, reaping it (waitid on the pidfd).
struct wait_op : net::detail::io_op {
  explicit wait_op(net::detail::io_state* state) noexcept;
  static bool attempt(net::detail::io_op* op) noexcept;
  result<exit_status> outcome() noexcept;
  int code = 0;
  int status = 0;
};
}  // namespace detail

using wait_awaitable = net::detail::io_awaitable<detail::wait_op>;

/// A running (or finished, not yet waited for) child process. Move-only.
class child {
 public:
  child() noexcept = default;
  child(child&& other) noexcept;
  child& operator=(child&& other) noexcept;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  /// Unless waited for or detached: kills the child (SIGKILL) and lets the reaper collect it.
  ~child();

  /// The pipes set up as `stdio::piped`; the others are not open.
  pipe_writer in;   ///< the child's stdin
  pipe_reader out;  ///< the child's stdout
  pipe_reader err;  ///< the child's stderr

  /// The process id; -1 for an empty handle.
  pid_t id() const noexcept { return pid_; }

  /// Waits for the child to end and reaps it. Once it has, later calls return the same status at once.
  /// Errors: `errc::operation_canceled` if the awaiting task is cancelled (the child keeps running),
  /// `errc::closed` on an empty handle. Does not close the pipes: read what you need first, or the
  /// child may block writing to a full pipe and never end.
  task<result<exit_status>> wait();
  /// As wait(), but after `timeout` kills the child (SIGKILL), reaps it and returns `errc::timed_out`.
  task<result<exit_status>> wait(clock::duration timeout);
  /// The status if the child has ended (reaping it), nullopt if it still runs.
  result<std::optional<exit_status>> try_wait() noexcept;
  /// Sends `sig` (through the pidfd, so never to a process that reused the id). A child that has ended
  /// but was not yet waited for takes signals without error; after wait(), `errc::closed`.
  result<void> kill(int sig = SIGKILL) noexcept;
  /// Lets the child outlive this handle: it is no longer killed on drop (the reaper still collects it).
  void detach() noexcept { kill_on_drop_ = false; }

 private:
  friend class command;
  child(pid_t pid, net::detail::io_state* pidfd) noexcept : pid_(pid), pidfd_(pidfd) {}
  void release() noexcept;
  result<exit_status> finished(result<exit_status> r) noexcept;

  pid_t pid_ = -1;
  net::detail::io_state* pidfd_ = nullptr;  // registered lazily with the loop that waits
  std::optional<exit_status> status_;       // once reaped
  bool kill_on_drop_ = true;
};

/// A program to run, with its arguments, environment, working directory and standard streams. Build it
/// with the chained setters, then spawn() it (any number of times) or run it with output()/status().
class command {
 public:
  /// `program` is a path, or a name looked up in PATH when it has no '/'. It is also argv[0].
  explicit command(std::string program);

  command& arg(std::string a);
  command& args(std::span<const std::string> as);
  command& args(std::initializer_list<std::string_view> as);
  /// Sets a variable in the child's environment (which starts as a copy of this process's).
  command& env(std::string name, std::string value);
  /// Removes a variable from the child's environment.
  command& env_remove(std::string name);
  /// Starts the child's environment empty (env() then adds to it).
  command& env_clear();
  /// The child's working directory.
  command& current_dir(std::string dir);
  command& std_in(stdio s);
  command& std_out(stdio s);
  command& std_err(stdio s);

  /// Starts the child. Needs a running weft loop when a stream is piped or to wait. Errors: the
  /// kernel's for a program that cannot run (`std::errc::no_such_file_or_directory`,
  /// `std::errc::permission_denied`), for a working directory that does not exist, or for running out
  /// of descriptors or processes.
  result<child> spawn() const;
  /// Runs the child to its end, with stdout and stderr captured (whatever std_out/std_err say) and
  /// `input` written to its stdin (none: /dev/null, unless std_in says otherwise). Reads both streams
  /// while the child runs, so a child writing more than a pipe holds never stalls. With a `timeout`
  /// (zero: none) the child is killed and reaped once it passes, giving `errc::timed_out`. Cancelling the
  /// awaiting task kills it too.
  task<result<completed>> output(clock::duration timeout = clock::duration::zero(),
                              std::optional<std::string> input = std::nullopt) const;
  /// Runs the child to its end with its streams as set (inherited by default); the exit status.
  /// Timeout and cancellation as for output().
  task<result<exit_status>> status(clock::duration timeout = clock::duration::zero()) const;

  const std::string& program() const noexcept { return argv_.front(); }
  /// The command line, quoted for a shell where needed: for messages and logs.
  std::string to_string() const;

 private:
  static task<result<completed>> run_captured(command cmd, clock::duration limit, std::optional<std::string> input);
  static task<result<exit_status>> run_to_end(command cmd, clock::duration limit);

  std::vector<std::string> argv_;
  std::vector<std::pair<std::string, std::optional<std::string>>> env_changes_;  // nullopt: remove
  bool env_clear_ = false;
  std::optional<std::string> cwd_;
  stdio in_ = stdio::inherit;
  stdio out_ = stdio::inherit;
  stdio err_ = stdio::inherit;
};

}  // namespace weft::process
