// Signals as awaitable events, sent for real: by kill(2) on ourselves, by a child running kill(1), and
// to `weft serve` (SIGINT while a request is in flight: the request finishes, the server exits 0).
#include <gtest/gtest.h>
#include <weft/process.hpp>
#include <weft/signal.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

TEST(process_signal, a_waiting_task_gets_the_signal) {
  test::run_test([]() -> task<void> {
    signal_set usr{SIGUSR1, SIGUSR2};
    auto waiter = spawn([&]() -> task<result<int>> { co_return co_await usr.next(); });
    co_await sleep_for(20ms);
    ::kill(::getpid(), SIGUSR2);
    auto got = co_await timeout(5s, std::move(waiter));
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, SIGUSR2);
  }());
}

TEST(process_signal, signals_nobody_waited_for_are_kept_and_every_set_hears_them) {
  test::run_test([]() -> task<void> {
    signal_set a{SIGUSR1};
    signal_set b{SIGUSR1, SIGUSR2};
    ::kill(::getpid(), SIGUSR1);
    // Delivery goes through weft's thread: wait for it rather than assume it is done.
    auto first_a = co_await timeout(5s, a.next());
    auto first_b = co_await timeout(5s, b.next());
    EXPECT_EQ(first_a.value(), SIGUSR1);
    EXPECT_EQ(first_b.value(), SIGUSR1);
    ::kill(::getpid(), SIGUSR2);
    EXPECT_EQ((co_await timeout(5s, b.next())).value(), SIGUSR2);
    // a does not listen for SIGUSR2: nothing for it.
    EXPECT_EQ((co_await timeout(100ms, a.next())).error(), errc::timed_out);
  }());
}

TEST(process_signal, a_child_process_sends_it) {
  test::run_test([]() -> task<void> {
    auto next = weft::signal(SIGUSR1);  // listening from here, before the child starts
    auto sent = co_await process::command("kill").arg("-USR1").arg(std::to_string(::getpid())).status();
    CO_ASSERT_TRUE(sent.has_value());
    EXPECT_TRUE(sent->success());
    auto got = co_await timeout(5s, std::move(next));
    EXPECT_EQ(got.value(), SIGUSR1);
  }());
}

TEST(process_signal, cancelling_a_wait_and_restoring_the_previous_action) {
  struct sigaction mine{};
  mine.sa_handler = SIG_IGN;
  struct sigaction before{};
  ASSERT_EQ(::sigaction(SIGUSR2, &mine, &before), 0);
  test::run_test([]() -> task<void> {
    signal_set s{SIGUSR2};
    auto r = co_await timeout(50ms, s.next());
    EXPECT_EQ(r.error(), errc::timed_out);
  }());
  struct sigaction now{};
  ASSERT_EQ(::sigaction(SIGUSR2, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);  // the set's handler is gone with the set
  ::sigaction(SIGUSR2, &before, nullptr);
}

TEST(process_signal, signals_that_cannot_be_caught_are_refused) {
  EXPECT_THROW(signal_set({SIGKILL}), std::invalid_argument);
  EXPECT_THROW(signal_set({SIGSTOP}), std::invalid_argument);
  EXPECT_THROW(signal_set({0}), std::invalid_argument);
  EXPECT_THROW(signal_set({SIGUSR1, 10'000}), std::invalid_argument);
}

#ifdef WEFT_TOOL_PATH
TEST(process_signal, weft_serve_finishes_in_flight_requests_on_sigint_and_exits_0) {
  test::run_test([]() -> task<void> {
    auto server = process::command(WEFT_TOOL_PATH).args({"serve", "-p", "0"}).std_out(process::stdio::piped)
                      .std_err(process::stdio::piped).spawn();
    CO_ASSERT_TRUE(server.has_value());
    // The first line names the port: "weft serve: listening on http://127.0.0.1:PORT/ (1 thread)".
    std::string banner;
    char buf[256];
    while (banner.find('\n') == std::string::npos) {
      auto n = co_await server->out.read_some(std::span(buf), 10s);
      CO_ASSERT_TRUE(n.has_value() && *n > 0);
      banner.append(buf, *n);
    }
    auto at = banner.find("http://");
    CO_ASSERT_TRUE(at != std::string::npos);
    std::string url = banner.substr(at, banner.find('/', at + 7) - at) + "/delay/2";
    // A real client, mid-request when the signal comes.
    auto curl = process::command("curl").args({"-s", "-o", "/dev/null", "-w", "%{http_code}"}).arg(url).output(10s);
    auto request = spawn(std::move(curl));
    co_await sleep_for(1s);  // curl has started and its request is in (a slow start would meet a closed listener)
    CO_ASSERT_TRUE(server->kill(SIGINT).has_value());
    auto answered = co_await std::move(request);
    CO_ASSERT_TRUE(answered.has_value());
    EXPECT_EQ(answered->out, "200");
    auto status = co_await server->wait(10s);
    CO_ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->success()) << status->describe();
    std::string err;
    co_await server->err.read_to_end(err);
    EXPECT_NE(err.find("interrupted, shutting down"), std::string::npos) << err;
  }());
}
#endif
