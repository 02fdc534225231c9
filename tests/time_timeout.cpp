#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

task<int> slow_value(clock::duration d, int v, bool* saw_cancel = nullptr) {
  auto r = co_await sleep_for(d);
  if (!r && saw_cancel != nullptr) *saw_cancel = r.error() == errc::operation_canceled;
  co_return v;
}

task<result<std::string>> fallible(clock::duration d, bool ok) {
  co_await sleep_for(d);
  if (!ok) co_return fail(errc::invalid_argument);
  co_return "fine";
}

}  // namespace

TEST(time_timeout, expires_cancels_child_and_waits_for_it) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    bool saw_cancel = false;
    result<int> r = co_await timeout(50ms, slow_value(10s, 1, &saw_cancel));
    CO_ASSERT_TRUE(!r);
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_TRUE(saw_cancel);  // the child ran to its end, seeing operation_canceled
    EXPECT_EQ(test::ms_since(start), 50);
  };
  test::run_paused(body());
}

TEST(time_timeout, completes_in_time_with_value) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    result<int> r = co_await timeout(1s, slow_value(20ms, 9));
    CO_ASSERT_TRUE(r);
    EXPECT_EQ(*r, 9);
    EXPECT_EQ(test::ms_since(start), 20);
    // Its timer was released: nothing wakes this loop at the 1 s mark, so the next sleep ends on time.
    co_await sleep_for(5ms);
    EXPECT_EQ(test::ms_since(start), 25);
  };
  test::run_paused(body());
}

TEST(time_timeout, result_passes_through_unwrapped) {
  auto body = []() -> task<void> {
    result<std::string> ok = co_await timeout(1s, fallible(1ms, true));
    EXPECT_EQ(ok.value(), "fine");
    result<std::string> bad = co_await timeout(1s, fallible(1ms, false));
    EXPECT_EQ(bad.error(), errc::invalid_argument);
    result<std::string> late = co_await timeout(1ms, fallible(1s, true));
    EXPECT_EQ(late.error(), errc::timed_out);
  };
  test::run_paused(body());
}

TEST(time_timeout, wraps_plain_awaitables) {
  auto body = []() -> task<void> {
    result<void> slept = co_await timeout(10ms, sleep_for(1ms));  // sleep's own result<void>
    EXPECT_TRUE(slept);
    result<void> cut = co_await timeout(1ms, sleep_for(10ms));
    EXPECT_EQ(cut.error(), errc::timed_out);
    auto h = spawn(slow_value(1h, 4));
    result<int> joined = co_await timeout(5ms, std::move(h));  // cancelling the join cancels the task
    EXPECT_EQ(joined.error(), errc::timed_out);
  };
  test::run_paused(body());
}

TEST(time_timeout, exception_from_child_is_rethrown) {
  auto body = []() -> task<void> {
    auto thrower = []() -> task<int> {
      co_await sleep_for(1ms);
      throw std::runtime_error("inner");
    };
    EXPECT_THROW(co_await timeout(1s, thrower()), std::runtime_error);
  };
  test::run_paused(body());
}

TEST(time_timeout, same_tick_deadlines_fire_safely) {
  // The timeout's timer and the child's sleep share a wheel slot: firing one removes the other.
  auto body = []() -> task<void> {
    for (int i = 0; i < 100; ++i) {
      result<void> r = co_await timeout(10ms, sleep_for(10ms));
      EXPECT_TRUE(r || r.error() == errc::timed_out);
    }
  };
  test::run_paused(body());
}

TEST(time_timeout, outer_cancellation_reaches_child) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  auto body = []() -> task<void> {
    auto h = spawn([]() -> task<result<int>> { co_return co_await timeout(1h, slow_value(1h, 2)); });
    co_await sleep_for(1ms);
    h.cancel();
    result<int> r = co_await std::move(h);
    CO_ASSERT_TRUE(r);  // the child saw the cancel, returned its value, and timeout passed it on
    EXPECT_EQ(*r, 2);
  };
  test::run_paused(body());
}

// Outcomes that happened are returned, never discarded (docs/design/cancellation.md): each test below
// lets the consuming await succeed and the deadline fall due before the waiting task resumes, in the
// same turn. `advance` fires the deadline inside the turn of the task that provided the outcome; for
// I/O, the loop's poll sees the readiness and then fires the due timer. One paused loop makes the
// order exact.
namespace {

runtime_options one_paused_loop() {
  runtime_options o;
  o.start_paused = true;
  return o;
}

/// The await `make()` as a task of its own (sync awaiters cannot be moved into timeout).
template <class Make>
auto awaited(Make make) -> task<detail::await_result_t<std::invoke_result_t<Make&>>> {
  co_return co_await make();
}

/// Spawns `timeout(10ms, make())`, lets it park, runs `provide`, moves time to the deadline, and
/// returns the timeout's outcome.
template <class Make, class F>
auto deadline_meets_outcome(Make make, F provide)
    -> task<detail::timeout_result_t<detail::await_result_t<std::invoke_result_t<Make&>>>> {
  auto waiter = spawn(timeout(10ms, awaited(std::move(make))));
  co_await yield_now();  // it parks
  provide();
  co_await advance(10ms);  // the deadline fires before the waiter runs
  co_return co_await std::move(waiter);
}

}  // namespace

TEST(time_timeout, a_value_received_as_the_deadline_falls_is_returned) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    channel<int> ch(1);
    result<int> r = co_await deadline_meets_outcome([&] { return ch.receive(); }, [&] { EXPECT_TRUE(ch.try_send(7)); });
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 7);
    EXPECT_FALSE(ch.try_receive().has_value());  // taken once, not twice
  }(), one_paused_loop());
}

TEST(time_timeout, a_value_sent_as_the_deadline_falls_is_reported_sent) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    channel<int> ch(1);
    EXPECT_TRUE(ch.try_send(1));  // full: the next send waits
    auto r = co_await deadline_meets_outcome([&] { return ch.send(2); }, [&] { EXPECT_EQ(ch.try_receive().value(), 1); });
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(ch.try_receive().value(), 2);  // it is in the channel: reported sent, and sent
  }(), one_paused_loop());
}

TEST(time_timeout, a_cut_send_hands_its_value_back) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    channel<std::string> ch(0);  // rendezvous, nobody receives
    auto r = co_await timeout(10ms, awaited([&] { return ch.send("kept"); }));
    CO_ASSERT_TRUE(r.has_value());  // the send completed: cut short, with its value handed back
    EXPECT_FALSE(*r);
    EXPECT_EQ(r->error(), errc::timed_out);
    EXPECT_EQ(r->take_back(), "kept");
  }(), one_paused_loop());
}

TEST(time_timeout, a_oneshot_value_as_the_deadline_falls_is_returned) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    auto [tx, rx] = make_oneshot<int>();
    result<int> r = co_await deadline_meets_outcome([&rx = rx] { return std::move(rx); }, [&tx = tx] { EXPECT_TRUE(tx.send(5)); });
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 5);
  }(), one_paused_loop());
}

TEST(time_timeout, a_permit_granted_as_the_deadline_falls_is_kept) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    semaphore sem(0);
    result<void> r = co_await deadline_meets_outcome([&] { return sem.acquire(); }, [&] { sem.release(); });
    EXPECT_TRUE(r.has_value());  // the permit is ours: not leaked, not reported lost
    EXPECT_EQ(sem.available(), 0u);
    sem.release();
    EXPECT_EQ(sem.available(), 1u);
  }(), one_paused_loop());
}

TEST(time_timeout, a_lock_granted_as_the_deadline_falls_is_held) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    mutex m;
    std::optional<mutex::guard> held = m.try_lock();
    CO_ASSERT_TRUE(held.has_value());
    auto r = co_await deadline_meets_outcome([&] { return m.lock(); }, [&] { held.reset(); });
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(m.try_lock().has_value());  // the waiter's guard holds it
    r->unlock();
    EXPECT_TRUE(m.try_lock().has_value());  // and it was not leaked
  }(), one_paused_loop());
}

TEST(time_timeout, a_blocking_job_that_ran_returns_its_value) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    std::atomic<bool> done = false;
    result<int> r = co_await deadline_meets_outcome([&] {
                                                      return spawn_blocking([&] {
                                                        done = true;
                                                        return 42;
                                                      });
                                                    },
                                                    [&] {
                                                      while (!done) std::this_thread::sleep_for(1ms);
                                                      std::this_thread::sleep_for(5ms);  // its wake-up is posted
                                                    });
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 42);
  }(), one_paused_loop());
}

TEST(time_timeout, a_joined_task_that_finished_returns_its_value) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    channel<int> ch(1);
    auto h = spawn([&]() -> task<int> { co_return (co_await ch.receive()).value(); });
    // The task is handed its value; the deadline then cancels it (too late) and the join.
    result<int> r = co_await deadline_meets_outcome([&h] { return std::move(h); }, [&] { EXPECT_TRUE(ch.try_send(3)); });
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 3);
  }(), one_paused_loop());
}

TEST(time_timeout, bytes_read_as_the_deadline_falls_are_returned) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    auto pair = net::unix_stream::pair();
    CO_ASSERT_TRUE(pair.has_value());
    auto& a = pair->first;
    auto& b = pair->second;
    char buf[16];
    auto waiter = spawn(timeout(10ms, awaited([&] { return a.read_some(std::span<char>(buf)); })));
    co_await yield_now();  // parked on the socket
    EXPECT_TRUE(co_await b.write_all("hello"));
    // Nothing is ready: the loop's poll jumps to the deadline, sees the bytes, then fires the timer.
    result<std::size_t> n = co_await std::move(waiter);
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(std::string_view(buf, *n), "hello");
  }(), one_paused_loop());
}

TEST(time_timeout, bytes_not_yet_read_at_the_deadline_stay_in_the_socket) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    auto pair = net::unix_stream::pair();
    CO_ASSERT_TRUE(pair.has_value());
    auto& a = pair->first;
    auto& b = pair->second;
    char buf[16];
    auto r = co_await timeout(10ms, awaited([&] { return a.read_some(std::span<char>(buf)); }));
    CO_ASSERT_TRUE(!r.has_value());
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_TRUE(co_await b.write_all("later"));
    auto n = co_await a.read_some(std::span<char>(buf));
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(std::string_view(buf, *n), "later");
  }(), one_paused_loop());
}

TEST(time_timeout, a_connection_accepted_as_the_deadline_falls_is_returned) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    auto listener = net::tcp_listener::bind(*net::endpoint::parse("127.0.0.1:0"));
    CO_ASSERT_TRUE(listener.has_value());
    auto waiter = spawn(timeout(10ms, awaited([&] { return listener->accept(); })));
    co_await yield_now();  // parked on the listener
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    auto at = listener->local_endpoint();
    CO_ASSERT_TRUE(at.has_value());
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(at->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);  // the backlog takes it at once
    auto conn = co_await std::move(waiter);
    EXPECT_TRUE(conn.has_value());
    ::close(fd);
  }(), one_paused_loop());
}

TEST(time_timeout, a_child_that_exited_as_the_deadline_falls_reports_its_status) {
  if (test::shuffled()) GTEST_SKIP() << "builds one exact interleaving on a first-come first-served loop";
  run([]() -> task<void> {
    auto c = process::command("true").spawn();
    CO_ASSERT_TRUE(c.has_value());
    auto waiter = spawn(timeout(10ms, c->wait()));
    co_await yield_now();  // parked on the child's pidfd, or already done if the child was quicker
    // Wait until it has exited, without reaping it (the loop's time is paused). ECHILD: the waiter's
    // first look found the child ended and reaped it, which is the other order this test allows.
    siginfo_t info{};
    int rc;
    do {
      rc = ::waitid(P_PID, static_cast<id_t>(c->id()), &info, WEXITED | WNOWAIT);
    } while (rc < 0 && errno == EINTR);
    EXPECT_TRUE(rc == 0 || errno == ECHILD) << std::strerror(errno);
    auto status = co_await std::move(waiter);
    CO_ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(status->success());
  }(), one_paused_loop());
}

// A duration too long to add to now, up to duration::max(), means "no limit": never undefined
// behaviour, never an instant timeout (before, now + d overflowed into the past).
static_assert(deadline_after(clock::time_point(clock::duration(5)), clock::duration::max()) == clock::time_point::max());
static_assert(deadline_after(clock::time_point(clock::duration(-5)), clock::duration::min()) == clock::time_point::min());
static_assert(deadline_after(clock::time_point(clock::duration(5)), clock::duration(7)) == clock::time_point(clock::duration(12)));

TEST(time_timeout, the_largest_durations_mean_no_limit) {
  auto body = []() -> task<void> {
    result<int> r = co_await timeout(clock::duration::max(), slow_value(1h, 1));
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 1);
    r = co_await timeout(clock::duration::max() - clock::now().time_since_epoch() / 2, slow_value(2h, 2));
    CO_ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 2);
    // A sleep of duration::max() waits until cancelled.
    auto sleeper = spawn([]() -> task<result<void>> { co_return co_await sleep_for(clock::duration::max()); });
    co_await sleep_for(24h);
    EXPECT_FALSE(sleeper.done());
    sleeper.cancel();
    result<void> slept = co_await std::move(sleeper);
    CO_ASSERT_TRUE(!slept.has_value());
    EXPECT_EQ(slept.error(), errc::operation_canceled);
  };
  test::run_paused(body());
}

TEST(time_timeout, a_socket_read_with_the_largest_timeout_waits_for_its_bytes) {
  auto body = []() -> task<void> {
    auto pair = net::unix_stream::pair();
    CO_ASSERT_TRUE(pair.has_value());
    auto& a = pair->first;
    auto& b = pair->second;
    char buf[8];
    auto reader = spawn([&]() -> task<result<std::size_t>> {
      co_return co_await a.read_some(std::span<char>(buf), clock::duration::max());
    });
    co_await sleep_for(1ms);
    EXPECT_FALSE(reader.done());  // not timed out at once
    EXPECT_TRUE(co_await b.write_all("ok"));
    auto n = co_await std::move(reader);
    CO_ASSERT_TRUE(n.has_value());
    EXPECT_EQ(std::string_view(buf, *n), "ok");
  };
  test::run_test(body());
}
