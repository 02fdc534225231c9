// Child processes, for real: /bin/sh, cat, sleep, yes and head, with pipes filled past their capacity,
// children killed on timeout, exiting before their output is read, and dropped unwaited — asserting
// that no zombie and no descriptor is left behind.
#include <gtest/gtest.h>
#include <weft/net/tcp.hpp>
#include <weft/process.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "test_support.hpp"

using namespace weft;
using namespace weft::process;
using namespace std::chrono_literals;

namespace {

/// Descriptors this process has open.
int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n - 1;  // the directory's own
}

/// True once `pid` is gone entirely: not running and not a zombie (kill(pid, 0) finds a zombie too).
bool gone(pid_t pid) {
  for (int i = 0; i < 400; ++i) {
    if (::kill(pid, 0) < 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

command sh(std::string script) { return command("/bin/sh").args({"-c"}).arg(std::move(script)); }

}  // namespace

TEST(process_child, output_captures_stdout_and_exit_status) {
  auto r = test::run_test([]() -> task<result<completed>> { co_return co_await command("echo").arg("hello").arg("world").output(); }());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->out, "hello world\n");
  EXPECT_EQ(r->err, "");
  EXPECT_TRUE(r->status.success());
  EXPECT_EQ(r->status.describe(), "exit code 0");
}

TEST(process_child, exit_codes_and_signals_are_told_apart) {
  test::run_test([]() -> task<void> {
    auto three = co_await sh("echo oops >&2; exit 3").output();
    CO_ASSERT_TRUE(three.has_value());
    EXPECT_EQ(three->status, (exit_status{3, 0}));
    EXPECT_FALSE(three->status.success());
    EXPECT_EQ(three->err, "oops\n");
    auto killed = co_await sh("kill -TERM $$").status();
    CO_ASSERT_TRUE(killed.has_value());
    EXPECT_EQ(killed->signal, SIGTERM);
    EXPECT_EQ(killed->code, -1);
    EXPECT_NE(killed->describe().find("killed by signal 15"), std::string::npos) << killed->describe();
  }());
}

TEST(process_child, pipes_filled_past_their_capacity_in_both_directions) {
  // 1 MiB through cat (16 times a pipe's 64 KiB): output() must write stdin while it reads stdout.
  std::string input;
  for (int i = 0; input.size() < (1 << 20); ++i) input += "line " + std::to_string(i) + "\n";
  auto r = test::run_test([&]() -> task<result<completed>> { co_return co_await command("cat").output({}, input); }());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->status.success());
  EXPECT_EQ(r->out.size(), input.size());
  EXPECT_TRUE(r->out == input);
  // stdout and stderr each far past a pipe's capacity, the child writing one after the other.
  auto both = test::run_test([]() -> task<result<completed>> {
    co_return co_await sh("yes o | head -c 300000; yes e | head -c 200000 >&2; echo done").output();
  }());
  ASSERT_TRUE(both) << both.error().message();
  EXPECT_EQ(both->out.size(), 300000u + 5);
  EXPECT_EQ(both->err.size(), 200000u);
  EXPECT_TRUE(both->out.ends_with("o\ndone\n"));
}

TEST(process_child, a_child_that_exits_before_its_output_is_read) {
  test::run_test([]() -> task<void> {
    auto c = sh("echo early; echo late >&2").std_out(stdio::piped).std_err(stdio::piped).spawn();
    CO_ASSERT_TRUE(c.has_value());
    auto status = co_await c->wait();
    CO_ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->success());
    std::string out;
    std::string err;
    EXPECT_TRUE(co_await c->out.read_to_end(out));
    EXPECT_TRUE(co_await c->err.read_to_end(err));
    EXPECT_EQ(out, "early\n");
    EXPECT_EQ(err, "late\n");
    // Waiting again gives the same status; the reaped child takes no more signals.
    auto again = co_await c->wait();
    EXPECT_EQ(again.value(), *status);
    EXPECT_EQ(c->kill().error(), errc::closed);
    EXPECT_TRUE(gone(c->id()));
  }());
}

TEST(process_child, streaming_through_stdin_and_stdout) {
  test::run_test([]() -> task<void> {
    auto c = command("cat").std_in(stdio::piped).std_out(stdio::piped).spawn();
    CO_ASSERT_TRUE(c.has_value());
    for (int i = 0; i < 3; ++i) {
      std::string line = "ping " + std::to_string(i) + "\n";
      CO_ASSERT_TRUE(co_await c->in.write_all(line));
      char buf[64];
      std::string got;
      while (got.size() < line.size()) {
        auto n = co_await c->out.read_some(std::span(buf), 5s);
        CO_ASSERT_TRUE(n.has_value() && *n > 0);
        got.append(buf, *n);
      }
      EXPECT_EQ(got, line);
    }
    c->in.close();  // cat reads end of file and exits
    auto status = co_await c->wait();
    EXPECT_TRUE(status && status->success());
  }());
}

TEST(process_child, a_program_that_cannot_run_is_an_error_not_a_child) {
  test::run_test([]() -> task<void> {
    auto missing = command("/nonexistent/program").spawn();
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto not_in_path = co_await command("weft-no-such-program-anywhere").output();
    EXPECT_EQ(not_in_path.error(), std::errc::no_such_file_or_directory);
    auto not_executable = command("/etc/passwd").spawn();
    EXPECT_EQ(not_executable.error(), std::errc::permission_denied);
    auto bad_dir = command("pwd").current_dir("/nonexistent-dir").spawn();
    EXPECT_FALSE(bad_dir.has_value());
  }());
}

TEST(process_child, environment_and_working_directory) {
  test::run_test([]() -> task<void> {
    auto pwd = co_await command("pwd").current_dir("/tmp").output();
    CO_ASSERT_TRUE(pwd.has_value());
    EXPECT_EQ(pwd->out, "/tmp\n");
    ::setenv("WEFT_TEST_INHERITED", "yes", 1);
    auto env = co_await sh("echo \"$WEFT_TEST_SET:$WEFT_TEST_INHERITED:${HOME+home}\"")
                   .env("WEFT_TEST_SET", "set")
                   .env_remove("HOME")
                   .output();
    CO_ASSERT_TRUE(env.has_value());
    EXPECT_EQ(env->out, "set:yes:\n");
    auto clean = co_await command("/usr/bin/env").env_clear().env("ONLY", "this").output();
    CO_ASSERT_TRUE(clean.has_value());
    EXPECT_EQ(clean->out, "ONLY=this\n");
  }());
}

TEST(process_child, a_timeout_kills_and_reaps_the_child) {
  test::run_test([]() -> task<void> {
    auto start = std::chrono::steady_clock::now();
    auto slow = co_await command("sleep").arg("30").output(200ms);
    EXPECT_EQ(slow.error(), errc::timed_out);
    auto c = command("sleep").arg("30").spawn();
    CO_ASSERT_TRUE(c.has_value());
    auto waited = co_await c->wait(200ms);
    EXPECT_EQ(waited.error(), errc::timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    // wait(timeout) reaped it before returning: no zombie, not even for a moment.
    EXPECT_TRUE(::kill(c->id(), 0) < 0 && errno == ESRCH);
  }());
}

TEST(process_child, kill_and_try_wait) {
  test::run_test([]() -> task<void> {
    auto c = command("sleep").arg("30").spawn();
    CO_ASSERT_TRUE(c.has_value());
    auto running = c->try_wait();
    CO_ASSERT_TRUE(running.has_value());
    EXPECT_FALSE(running->has_value());
    EXPECT_TRUE(c->kill(SIGTERM));
    auto status = co_await c->wait();
    CO_ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->signal, SIGTERM);
    auto after = c->try_wait();
    EXPECT_EQ(after.value(), std::optional<exit_status>(*status));
  }());
}

TEST(process_child, a_dropped_child_is_killed_and_a_detached_one_reaped) {
  pid_t dropped = -1;
  pid_t detached = -1;
  test::run_test([&]() -> task<void> {
    auto c = command("sleep").arg("30").spawn();
    CO_ASSERT_TRUE(c.has_value());
    dropped = c->id();
    auto d = command("sleep").arg("0.1").spawn();
    CO_ASSERT_TRUE(d.has_value());
    detached = d->id();
    d->detach();
    co_return;
  }());
  EXPECT_TRUE(gone(dropped));   // killed, then reaped by the reaper thread
  EXPECT_TRUE(gone(detached));  // ran to its end, then reaped
}

TEST(process_child, cancelling_the_waiting_task_kills_the_child) {
  pid_t pid = -1;
  test::run_test([&]() -> task<void> {
    auto h = spawn([&]() -> task<result<exit_status>> {
      auto c = command("sleep").arg("30").spawn();
      if (!c) co_return fail(c.error());
      pid = c->id();
      co_return co_await c->wait();
    });
    co_await sleep_for(100ms);
    h.cancel();
    auto r = co_await std::move(h);
    EXPECT_EQ(r.error(), errc::operation_canceled);
  }());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(gone(pid));
}

TEST(process_child, writing_to_a_child_that_stopped_reading_is_broken_pipe_not_death) {
  test::run_test([]() -> task<void> {
    auto c = command("true").std_in(stdio::piped).spawn();
    CO_ASSERT_TRUE(c.has_value());
    co_await c->wait();
    std::string big(1 << 20, 'x');
    auto w = co_await c->in.write_all(big);
    EXPECT_EQ(w.error(), std::errc::broken_pipe);
  }());
}

TEST(process_child, children_inherit_only_their_three_streams) {
  test::run_test([]() -> task<void> {
    // What weft opens (the runtime's descriptors, a listener, the pipes of another child) stays out of
    // the child, and so does what the program opened without close-on-exec (here, /dev/null and a
    // pipe): the child is left with its three standard streams.
    auto listener = net::tcp_listener::bind({net::ip_address::loopback_v4(), 0});
    CO_ASSERT_TRUE(listener.has_value());
    auto other = command("sleep").arg("5").std_in(stdio::piped).std_out(stdio::piped).spawn();
    CO_ASSERT_TRUE(other.has_value());
    int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC
    int leaky_pipe[2];
    CO_ASSERT_TRUE(leaky >= 0 && ::pipe(leaky_pipe) == 0);
    CO_ASSERT_TRUE((::fcntl(leaky, F_GETFD) & FD_CLOEXEC) == 0);
    std::string expected = "0 1 2 ";
    auto r = co_await sh("ls /proc/$$/fd; true").output();  // ls as the shell's child (not exec'd): it adds nothing
    CO_ASSERT_TRUE(r.has_value());
    // The shell lists in its own (textual) order: compare sorted numbers.
    auto numbers = [](const std::string& s) {
      std::vector<int> v;
      for (std::size_t i = 0; i < s.size();) {
        std::size_t end = s.find_first_of(" \n", i);
        v.push_back(std::stoi(s.substr(i, end - i)));
        i = end + 1;
      }
      std::sort(v.begin(), v.end());
      return v;
    };
    EXPECT_EQ(numbers(r->out), numbers(expected)) << r->out;
    ::close(leaky);
    ::close(leaky_pipe[0]);
    ::close(leaky_pipe[1]);
  }());
}

TEST(process_child, many_children_waited_at_once_leak_nothing) {
  int before = open_fds();
  auto start = std::chrono::steady_clock::now();
  test::run_test([]() -> task<void> {
    std::vector<task<result<completed>>> runs;
    for (int i = 0; i < 40; ++i) runs.push_back(sh("sleep 0.3; echo " + std::to_string(i)).output());
    auto all = co_await when_all(std::move(runs));
    for (std::size_t i = 0; i < all.size(); ++i) {
      CO_ASSERT_TRUE(all[i].has_value());
      EXPECT_EQ(all[i]->out, std::to_string(i) + "\n");
    }
  }());
  // 40 children of 0.3 s each, waited concurrently: about 0.3 s, not 12.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  // Killed children of earlier tests may still sit with the reaper for a moment (one descriptor each).
  for (int i = 0; i < 200 && open_fds() > before; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_LE(open_fds(), before);
}

TEST(process_pool, runs_n_at_a_time_and_keeps_the_order) {
  std::vector<command> jobs;
  for (int i = 0; i < 6; ++i) jobs.push_back(sh("sleep 1; echo " + std::to_string(i)));
  jobs.insert(jobs.begin() + 2, command("/nonexistent/program"));
  std::atomic<int> done{0};
  run_all_options options;
  options.parallel = 3;
  options.on_done = [&](std::size_t, const result<completed>&) { ++done; };
  auto start = std::chrono::steady_clock::now();
  auto results = test::run_test(run_all(std::move(jobs), options));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(results.size(), 7u);
  EXPECT_EQ(results[2].error(), std::errc::no_such_file_or_directory);
  for (std::size_t i = 0, n = 0; i < results.size(); ++i) {
    if (i == 2) continue;
    ASSERT_TRUE(results[i]) << i;
    EXPECT_EQ(results[i]->out, std::to_string(n++) + "\n");
  }
  EXPECT_EQ(done.load(), 7);
  // Six of 1 s, three at a time: two rounds. One at a time would take 6 s, two at a time 3 s.
  EXPECT_GE(took, 1990ms);
  EXPECT_LT(took, 2900ms);
}

TEST(process_pool, a_timeout_each_kills_only_the_slow_one) {
  std::vector<command> jobs;
  jobs.push_back(command("sleep").arg("30"));
  jobs.push_back(command("echo").arg("quick"));
  run_all_options options;
  options.parallel = 2;
  options.timeout_each = 300ms;
  auto results = test::run_test(run_all(std::move(jobs), options));
  EXPECT_EQ(results[0].error(), errc::timed_out);
  ASSERT_TRUE(results[1]);
  EXPECT_EQ(results[1]->out, "quick\n");
}
