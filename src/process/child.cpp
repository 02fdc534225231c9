// Spawning with posix_spawn (vfork-fast, and it reports a failed exec as an error code), waiting through
// a pidfd in the reactor, and handing children nobody waits for to the reaper.
#include "weft/process/child.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "net/socket_impl.hpp"
#include "process/inherit.hpp"
#include "process/reaper.hpp"
#include "reactor/io.hpp"
#include "runtime/worker.hpp"
#include "weft/timeout.hpp"
#include "weft/when_all.hpp"

extern char** environ;

namespace weft::process {

using net::detail::io_state;
using net::detail::last_error;

namespace {
// Through syscall(): glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
}  // namespace

std::string exit_status::describe() const {
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) + (name != nullptr ? std::string(" (") + name + ")" : "");
  }
  return "exit code " + std::to_string(code);
}

namespace detail {

wait_op::wait_op(io_state* state) noexcept : io_op(state, weft::detail::io_dir::read, &wait_op::attempt) {}

bool wait_op::attempt(net::detail::io_op* op) noexcept {
  auto* self = static_cast<wait_op*>(op);
  for (;;) {
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(op->io->fd), &info, WEXITED | WNOHANG) < 0) {
      if (errno == EINTR) continue;
      op->error = last_error();
      return true;
    }
    if (info.si_pid == 0) return false;  // still running: the pidfd turns readable when it ends
    self->code = info.si_code;
    self->status = info.si_status;
    return true;
  }
}

result<exit_status> wait_op::outcome() noexcept {
  if (error) return fail(error);
  exit_status s;
  if (code == CLD_EXITED) {
    s.code = status;
  } else {
    s.signal = status;  // CLD_KILLED or CLD_DUMPED
  }
  return s;
}

}  // namespace detail

child::child(child&& other) noexcept
    : in(std::move(other.in)),
      out(std::move(other.out)),
      err(std::move(other.err)),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, nullptr)),
      status_(other.status_),
      kill_on_drop_(other.kill_on_drop_) {}

child& child::operator=(child&& other) noexcept {
  if (this != &other) {
    release();
    in = std::move(other.in);
    out = std::move(other.out);
    err = std::move(other.err);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, nullptr);
    status_ = other.status_;
    kill_on_drop_ = other.kill_on_drop_;
  }
  return *this;
}

child::~child() { release(); }

void child::release() noexcept {
  if (pidfd_ == nullptr) return;
  if (!status_) {
    if (kill_on_drop_) pidfd_send_signal(pidfd_->fd, SIGKILL);
    reap_later(pidfd_->fd);
  }
  weft::detail::io_close(std::exchange(pidfd_, nullptr));
}

result<exit_status> child::finished(result<exit_status> r) noexcept {
  if (r) {
    status_ = *r;
    if (auto* t = weft::detail::current_tracer()) [[unlikely]] {
      try {
        t->instant("process exit", "\"pid\":" + std::to_string(pid_) + ",\"status\":\"" + r->describe() + "\"");
      } catch (...) {  // a trace note is not worth an error
      }
    }
    weft::detail::io_close(std::exchange(pidfd_, nullptr));  // reaped: the pidfd has nothing more to say
  }
  return r;
}

task<result<exit_status>> child::wait() {
  if (status_) co_return *status_;
  if (pidfd_ == nullptr) co_return fail(errc::closed);
  auto r = co_await wait_awaitable(pidfd_);
  co_return finished(std::move(r));
}

task<result<exit_status>> child::wait(clock::duration limit) {
  auto r = co_await weft::timeout(limit, wait());
  if (r || r.error() != errc::timed_out) co_return r;
  (void)kill(SIGKILL);
  auto reaped = co_await wait();  // a killed child ends at once; reaping it now leaves no zombie
  (void)reaped;
  co_return fail(errc::timed_out);
}

result<std::optional<exit_status>> child::try_wait() noexcept {
  if (status_) return status_;
  if (pidfd_ == nullptr) return fail(errc::closed);
  detail::wait_op op(pidfd_);
  if (!detail::wait_op::attempt(&op)) return std::optional<exit_status>();
  auto r = finished(op.outcome());
  if (!r) return fail(r.error());
  return std::optional<exit_status>(*r);
}

result<void> child::kill(int sig) noexcept {
  if (pidfd_ == nullptr) return fail(errc::closed);
  // ESRCH: it has ended but is not yet reaped; the signal has nothing left to do.
  if (pidfd_send_signal(pidfd_->fd, sig) < 0 && errno != ESRCH) return fail(last_error());
  return {};
}

command::command(std::string program) { argv_.push_back(std::move(program)); }

command& command::arg(std::string a) {
  argv_.push_back(std::move(a));
  return *this;
}

command& command::args(std::span<const std::string> as) {
  argv_.insert(argv_.end(), as.begin(), as.end());
  return *this;
}

command& command::args(std::initializer_list<std::string_view> as) {
  for (std::string_view a : as) argv_.emplace_back(a);
  return *this;
}

command& command::env(std::string name, std::string value) {
  env_changes_.emplace_back(std::move(name), std::move(value));
  return *this;
}

command& command::env_remove(std::string name) {
  env_changes_.emplace_back(std::move(name), std::nullopt);
  return *this;
}

command& command::env_clear() {
  env_clear_ = true;
  env_changes_.clear();
  return *this;
}

command& command::current_dir(std::string dir) {
  cwd_ = std::move(dir);
  return *this;
}

command& command::std_in(stdio s) {
  in_ = s;
  return *this;
}

command& command::std_out(stdio s) {
  out_ = s;
  return *this;
}

command& command::std_err(stdio s) {
  err_ = s;
  return *this;
}

std::string command::to_string() const {
  std::string line;
  for (const std::string& a : argv_) {
    if (!line.empty()) line += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                                   std::string::npos;
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (char ch : a) line += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    line += '\'';
  }
  return line;
}

namespace {

/// The descriptors and posix_spawn state of one spawn, released on every path out.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int parent_end[3] = {-1, -1, -1};  // ours, for the piped streams
  int child_end[3] = {-1, -1, -1};   // closed here once the child has its copies

  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    for (int fd : parent_end) {
      if (fd >= 0) ::close(fd);
    }
    close_child_ends();
  }
  void close_child_ends() {
    for (int& fd : child_end) {
      if (fd >= 0) ::close(std::exchange(fd, -1));
    }
  }

  /// Sets up standard stream `target` (0, 1, 2) as `how` says.
  int stream(int target, stdio how) {
    if (how == stdio::inherit) return 0;
    if (how == stdio::null) {
      return posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return errno;
    bool child_reads = target == 0;
    child_end[target] = fds[child_reads ? 0 : 1];
    parent_end[target] = fds[child_reads ? 1 : 0];
    // dup2 onto 0/1/2 clears close-on-exec on the copy only: the child keeps just its standard stream.
    return posix_spawn_file_actions_adddup2(&actions, child_end[target], target);
  }
};

std::vector<std::string> child_environment(bool clear,
                                           const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  std::vector<std::string> env;
  if (!clear) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  }
  for (const auto& change : changes) {
    const std::string& name = change.first;  // (clang 14 cannot capture a structured binding)
    const std::optional<std::string>& value = change.second;
    std::erase_if(env, [&](const std::string& kv) { return kv.size() > name.size() && kv[name.size()] == '=' && kv.starts_with(name); });
    if (value) env.push_back(name + "=" + *value);
  }
  return env;
}

}  // namespace

result<child> command::spawn() const {
  spawn_setup s;
  const stdio how[3] = {in_, out_, err_};
  for (int target = 0; target < 3; ++target) {
    if (int rc = s.stream(target, how[target]); rc != 0) return fail(std::error_code(rc, std::system_category()));
  }
  if (cwd_) {
    if (int rc = posix_spawn_file_actions_addchdir_np(&s.actions, cwd_->c_str()); rc != 0) {
      return fail(std::error_code(rc, std::system_category()));
    }
  }
  // The child keeps its three standard streams and nothing else (after the dup2s above).
  if (int rc = weft::detail::close_inherited(&s.actions); rc != 0) {
    return fail(std::error_code(rc, std::system_category()));
  }
  // The child starts clean: nothing blocked, every signal at its default action (weft ignores SIGPIPE).
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const std::string& a : argv_) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = child_environment(env_clear_, env_changes_);
  std::vector<char*> envp;
  for (const std::string& kv : env_strings) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  bool search = argv_.front().find('/') == std::string::npos;
  int rc = search ? posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data())
                  : posix_spawn(&pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data());
  if (rc != 0) return fail(std::error_code(rc, std::system_category()));
  s.close_child_ends();

  int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    auto ec = last_error();
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fail(ec);
  }
  auto* io = new (std::nothrow) io_state{};
  if (io == nullptr) {
    pidfd_send_signal(pidfd, SIGKILL);
    reap_later(pidfd);
    ::close(pidfd);
    return fail(std::make_error_code(std::errc::not_enough_memory));
  }
  io->fd = pidfd;
  child c(pid, io);
  if (auto* t = weft::detail::current_tracer()) [[unlikely]] {
    std::string args = "\"pid\":" + std::to_string(pid) + ",\"program\":";
    weft::detail::trace::append_json_string(args, argv_.front());
    t->instant("process spawn", args);
  }
  if (s.parent_end[0] >= 0) {
    auto w = pipe_writer::adopt(std::exchange(s.parent_end[0], -1));
    if (!w) return fail(w.error());  // c's destructor kills and reaps the child
    c.in = std::move(*w);
  }
  pipe_reader* readers[3] = {nullptr, &c.out, &c.err};
  for (int target = 1; target < 3; ++target) {
    if (s.parent_end[target] < 0) continue;
    auto r = pipe_reader::adopt(std::exchange(s.parent_end[target], -1));
    if (!r) return fail(r.error());
    *readers[target] = std::move(*r);
  }
  return c;
}

namespace {

task<result<void>> write_input(pipe_writer& in, const std::optional<std::string>& input) {
  if (input && !input->empty()) {
    auto w = co_await in.write_all(*input);
    // A child that exits without reading all of its input is not an error of ours (EPIPE).
    if (!w && w.error() != std::errc::broken_pipe) co_return w;
  }
  in.close();
  co_return result<void>{};
}

}  // namespace

// output() and status() copy the command into the task they return: it is lazy, and a command
// built in the same expression (`command("ls").output()`) is gone by the time it starts.
task<result<completed>> command::output(clock::duration limit, std::optional<std::string> input) const {
  command cmd = *this;
  cmd.in_ = input ? stdio::piped : stdio::null;
  cmd.out_ = stdio::piped;
  cmd.err_ = stdio::piped;
  return run_captured(std::move(cmd), limit, std::move(input));
}

task<result<exit_status>> command::status(clock::duration limit) const { return run_to_end(*this, limit); }

task<result<completed>> command::run_captured(command cmd, clock::duration limit, std::optional<std::string> input) {
  auto c = cmd.spawn();
  if (!c) co_return fail(c.error());
  completed result_value;
  auto collect = [&]() -> task<result<exit_status>> {
    auto [o, e, i] = co_await when_all(c->out.read_to_end(result_value.out), c->err.read_to_end(result_value.err),
                                       write_input(c->in, input));
    if (!o) co_return fail(o.error());
    if (!e) co_return fail(e.error());
    if (!i) co_return fail(i.error());
    co_return co_await c->wait();
  };
  result<exit_status> status;
  if (limit > clock::duration::zero()) {
    status = co_await weft::timeout(limit, collect());
    if (!status && status.error() == errc::timed_out) {
      (void)c->kill(SIGKILL);
      (void)co_await c->wait();  // reaped now: no zombie left behind
    }
  } else {
    status = co_await collect();
  }
  if (!status) co_return fail(status.error());  // a child still running is killed as `c` goes
  result_value.status = *status;
  co_return result_value;
}

task<result<exit_status>> command::run_to_end(command cmd, clock::duration limit) {
  auto c = cmd.spawn();
  if (!c) co_return fail(c.error());
  if (limit > clock::duration::zero()) co_return co_await c->wait(limit);
  co_return co_await c->wait();
}

}  // namespace weft::process
