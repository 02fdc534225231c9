#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "test_support.hpp"

using namespace weft;
using namespace std::chrono_literals;

namespace {

// Records how each child ended, so tests can assert that losers were cancelled *and* finished.
struct journal {
  std::vector<std::string> lines;
};

task<int> value_after(clock::duration d, int v, journal* j = nullptr) {
  auto r = co_await sleep_for(d);
  if (j != nullptr) j->lines.push_back(std::to_string(v) + (r ? " done" : " canceled"));
  co_return v;
}

task<void> void_after(clock::duration d) { co_await sleep_for(d); }

task<int> throw_after(clock::duration d, const char* what) {
  co_await sleep_for(d);
  throw std::runtime_error(what);
}

task<result<int>> result_after(clock::duration d, bool ok, int v) {
  co_await sleep_for(d);
  if (!ok) co_return fail(errc::invalid_argument);
  co_return v;
}

}  // namespace

TEST(task_combinators, when_all_variadic_runs_concurrently) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    auto [a, v, s] = co_await when_all(value_after(30ms, 1), void_after(20ms), []() -> task<std::string> {
      co_await sleep_for(10ms);
      co_return "s";
    }());
    EXPECT_EQ(a, 1);
    EXPECT_EQ(v, std::monostate{});
    EXPECT_EQ(s, "s");
    EXPECT_EQ(test::ms_since(start), 30);  // concurrent: the longest, not the sum
  };
  test::run_paused(body());
}

TEST(task_combinators, when_all_range_keeps_argument_order) {
  auto body = []() -> task<void> {
    std::vector<task<int>> ts;
    for (int i = 0; i < 10; ++i) ts.push_back(value_after(std::chrono::milliseconds(10 - i), i));
    std::vector<int> out = co_await when_all(std::move(ts));
    EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    std::vector<task<int>> none;
    EXPECT_TRUE((co_await when_all(std::move(none))).empty());
  };
  test::run_paused(body());
}

TEST(task_combinators, when_all_failure_cancels_the_rest_then_rethrows) {
  auto body = []() -> task<void> {
    journal j;
    clock::time_point start = clock::now();
    try {
      co_await when_all(value_after(1h, 1, &j), throw_after(10ms, "bad"), value_after(5ms, 3, &j));
      ADD_FAILURE() << "must throw";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "bad");
    }
    EXPECT_EQ(j.lines, (std::vector<std::string>{"3 done", "1 canceled"}));
    EXPECT_EQ(test::ms_since(start), 10);
  };
  test::run_paused(body());
}

TEST(task_combinators, when_any_first_wins_losers_cancelled_and_awaited) {
  auto body = []() -> task<void> {
    journal j;
    clock::time_point start = clock::now();
    any_variant<int, int, void> w = co_await when_any(value_after(50ms, 1, &j), value_after(20ms, 2, &j), void_after(1h));
    EXPECT_EQ(w.index(), 1u);
    EXPECT_TRUE(w.also_finished.empty());  // the losers' sleeps were cut: nothing of theirs happened
    EXPECT_EQ(std::get<1>(w), 2);
    EXPECT_EQ(j.lines, (std::vector<std::string>{"2 done", "1 canceled"}));  // loser finished before return
    EXPECT_EQ(test::ms_since(start), 20);
  };
  test::run_paused(body());
}

TEST(task_combinators, when_any_range_and_exception_winner) {
  auto body = []() -> task<void> {
    std::vector<task<int>> ts;
    ts.push_back(value_after(30ms, 7));
    ts.push_back(value_after(10ms, 8));
    any_result<int> w = co_await when_any(std::move(ts));
    EXPECT_EQ(w.index, 1u);
    EXPECT_EQ(w.value, 8);

    std::vector<task<int>> ts2;
    ts2.push_back(value_after(30ms, 7));
    ts2.push_back(throw_after(10ms, "first to finish"));
    EXPECT_THROW(co_await when_any(std::move(ts2)), std::runtime_error);  // the loser's value was the cancel's
    EXPECT_THROW(co_await when_any(std::vector<task<int>>{}), std::invalid_argument);
  };
  test::run_paused(body());
}

TEST(task_combinators, all_settled_reports_each_outcome_and_cancels_nothing) {
  auto body = []() -> task<void> {
    journal j;
    auto [a, b, c] = co_await all_settled(value_after(30ms, 1, &j), throw_after(10ms, "x"), void_after(5ms));
    EXPECT_EQ(a.value(), 1);
    EXPECT_FALSE(b.has_value());
    EXPECT_THROW(std::rethrow_exception(b.error()), std::runtime_error);
    EXPECT_TRUE(c.has_value());
    EXPECT_EQ(j.lines, std::vector<std::string>{"1 done"});

    std::vector<task<int>> ts;
    ts.push_back(throw_after(1ms, "y"));
    ts.push_back(value_after(2ms, 2));
    auto out = co_await all_settled(std::move(ts));
    CO_ASSERT_TRUE(out.size() == 2u);
    EXPECT_FALSE(out[0]);
    EXPECT_EQ(out[1].value(), 2);
  };
  test::run_paused(body());
}

TEST(task_combinators, first_success_skips_failures_and_error_results) {
  auto body = []() -> task<void> {
    clock::time_point start = clock::now();
    std::vector<task<result<int>>> ts;
    ts.push_back(result_after(5ms, false, 1));   // fails first (error result)
    ts.push_back(result_after(20ms, true, 2));   // first success
    ts.push_back(result_after(1h, true, 3));     // cancelled
    any_result<result<int>> w = co_await first_success(std::move(ts));
    EXPECT_EQ(w.index, 1u);
    EXPECT_EQ(w.value.value(), 2);
    EXPECT_EQ(test::ms_since(start), 20);

    auto v = co_await first_success(throw_after(1ms, "a"), value_after(3ms, 4));
    EXPECT_EQ(std::get<1>(v), 4);
  };
  test::run_paused(body());
}

TEST(task_combinators, first_success_all_failing_throws_aggregate) {
  auto body = []() -> task<void> {
    std::vector<task<result<int>>> ts;
    ts.push_back(result_after(1ms, false, 1));
    ts.push_back([]() -> task<result<int>> {
      co_await sleep_for(2ms);
      throw std::runtime_error("thrown");
    }());
    try {
      co_await first_success(std::move(ts));
      ADD_FAILURE() << "must throw";
    } catch (const aggregate_error& e) {
      CO_ASSERT_TRUE(e.errors().size() == 2u);
      try {
        std::rethrow_exception(e.errors()[0]);
      } catch (const std::system_error& se) {
        EXPECT_EQ(se.code(), errc::invalid_argument);
      }
    }
  };
  test::run_paused(body());
}

TEST(task_combinators, outer_cancel_reaches_every_child) {
  auto body = []() -> task<void> {
    journal j;
    auto h = spawn([&j]() -> task<int> {
      auto [a, b] = co_await when_all(value_after(1h, 1, &j), value_after(2h, 2, &j));
      co_return a + b;
    });
    co_await sleep_for(1ms);
    h.cancel();
    EXPECT_EQ(co_await std::move(h), 3);  // the children saw the cancel and returned their values
    EXPECT_EQ(j.lines.size(), 2u);
    for (auto& line : j.lines) EXPECT_NE(line.find("canceled"), std::string::npos);
  };
  test::run_paused(body());
}

TEST(task_combinators, children_finishing_synchronously) {
  auto body = []() -> task<void> {
    auto now = []() -> task<int> { co_return 5; };
    auto [a, b] = co_await when_all(now(), now());
    EXPECT_EQ(a + b, 10);
    auto w = co_await when_any(now(), value_after(1h, 1));
    EXPECT_EQ(w.index(), 0u);
  };
  test::run_paused(body());
}

// A loser's outcome can happen in the same turn as the winner's: here the winner's own send hands the
// value to the waiting receiver, then the winner finishes, and the receiver's cancel finds nothing to
// cut. The value must come back: in also_finished, or (when chaos delayed the receiver so that the
// cancel did cut it) still in the channel. Never lost, never twice.
namespace {

task<result<int>> receive_from(channel<int>& ch) { co_return co_await ch.receive(); }

task<int> send_then_return(channel<int>& ch, int v) {
  EXPECT_TRUE(ch.try_send(v));
  co_return 0;
}

task<int> send_then_throw(channel<int>& ch, int v) {
  EXPECT_TRUE(ch.try_send(v));
  throw std::runtime_error("the winner failed");
  co_return 0;
}

}  // namespace

TEST(task_combinators, when_any_returns_a_losers_value_received_in_the_winners_turn) {
  test::run_test([]() -> task<void> {
    channel<int> ch(1);
    any_variant<result<int>, int> w = co_await when_any(receive_from(ch), send_then_return(ch, 7));
    EXPECT_EQ(w.index(), 1u);
    if (!test::shuffled()) CO_ASSERT_TRUE(w.also_finished.size() == 1u);
    int copies = ch.try_receive().has_value() ? 1 : 0;
    for (auto& late : w.also_finished) {
      CO_ASSERT_TRUE(late.index() == 0u);
      EXPECT_EQ(std::get<0>(late).value(), 7);
      ++copies;
    }
    EXPECT_EQ(copies, 1);
  }());
}

TEST(task_combinators, when_any_prefers_a_value_that_happened_to_the_winners_exception) {
  test::run_test([]() -> task<void> {
    channel<int> ch(1);
    try {
      auto w = co_await when_any(receive_from(ch), send_then_throw(ch, 8));
      CO_ASSERT_TRUE(w.index() == 0u);  // the receiver took the value: it wins over the exception
      EXPECT_EQ(std::get<0>(w).value(), 8);
      EXPECT_TRUE(w.also_finished.empty());
      EXPECT_FALSE(ch.try_receive().has_value());
    } catch (const std::runtime_error&) {
      // Only when chaos let the cancel cut the receive: the value is still in the channel.
      EXPECT_TRUE(test::shuffled());
      EXPECT_EQ(ch.try_receive().value(), 8);
    }
  }());
}

TEST(task_combinators, first_success_range_returns_a_losers_value_received_in_the_winners_turn) {
  test::run_test([]() -> task<void> {
    channel<int> ch(1);
    std::vector<task<result<int>>> ts;
    ts.push_back(receive_from(ch));
    ts.push_back([](channel<int>& c) -> task<result<int>> {
      EXPECT_TRUE(c.try_send(9));
      co_return 1;
    }(ch));
    any_result<result<int>> w = co_await first_success(std::move(ts));
    EXPECT_EQ(w.index, 1u);
    EXPECT_EQ(w.value.value(), 1);
    if (!test::shuffled()) CO_ASSERT_TRUE(w.also_finished.size() == 1u);
    int copies = ch.try_receive().has_value() ? 1 : 0;
    for (auto& late : w.also_finished) {
      EXPECT_EQ(late.index, 0u);
      EXPECT_EQ(late.value.value(), 9);
      ++copies;
    }
    EXPECT_EQ(copies, 1);
  }());
}
