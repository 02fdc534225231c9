// weft::mpi under a real mpirun (ctest runs this suite with 2 and 4 ranks, and on 4 workers): every
// rank runs every test, in the same order, since most of them are collective.
#include <weft/mpi.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>

#include "test_support.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using mpi::reduce_op;

mpi::environment* env = nullptr;

mpi::communicator world() { return env->world(); }

// Spawned tasks are functions of their own, not capturing lambdas: a lambda's captures die with the
// temporary lambda, before the task it started has run.
template <class Range>
task<result<void>> send_task(mpi::communicator comm, const Range& data, int dest, int tag) {
  co_return co_await comm.send(data, dest, tag);
}

/// 1 if the receive got a message, 2 if it was cancelled, 3 for another error.
task<int> receive_outcome(mpi::communicator comm, int source, int tag) {
  std::vector<int> x(1);
  auto got = co_await comm.recv(x, source, tag);
  co_return got ? 1 : got.error() == errc::operation_canceled ? 2 : 3;
}

task<bool> late_barrier(mpi::communicator comm, std::chrono::milliseconds late) {
  co_await sleep_for(late);
  co_return (co_await comm.barrier()).has_value();
}

task<void> exchange(mpi::communicator comm, int partner, int t, std::atomic<int>& correct) {
  std::array<int, 2> out{comm.rank(), t};
  std::array<int, 2> in{-1, -1};
  // Each task its own tag: receives may complete in any order, each with its own message.
  auto s = spawn(send_task(comm, out, partner, 100 + t));
  auto r = co_await comm.recv(in, partner, 100 + t);
  bool sent = (co_await std::move(s)).has_value();
  if (sent && r && in[0] == partner && in[1] == t) ++correct;
}

TEST(mpi_ops, a_ring_of_sends_and_receives_carries_each_value_with_its_sender_and_tag) {
  auto comm = world();
  int next = (comm.rank() + 1) % comm.size();
  int prev = (comm.rank() + comm.size() - 1) % comm.size();
  test::run_test([&]() -> task<void> {
    std::vector<long> out{comm.rank() * 10L, comm.rank() * 10L + 1, comm.rank() * 10L + 2};
    std::vector<long> in(8, -1);
    auto sent = spawn(send_task(comm, out, next, 5));
    auto got = co_await comm.recv(in, prev, 5);
    EXPECT_TRUE((co_await std::move(sent)).has_value());
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->source, prev);
    EXPECT_EQ(got->tag, 5);
    EXPECT_EQ(got->count<long>(), 3u);
    EXPECT_EQ(in[0], prev * 10L);
    EXPECT_EQ(in[2], prev * 10L + 2);
    EXPECT_EQ(in[3], -1);  // the receive wrote no further than the message
  }());
}

TEST(mpi_ops, a_probe_gives_the_size_of_a_message_still_to_receive) {
  auto comm = world();
  test::run_test([&]() -> task<void> {
    if (comm.rank() == 0) {
      std::vector<int> data(37);
      std::iota(data.begin(), data.end(), 100);
      EXPECT_TRUE((co_await comm.send(data, 1, 9)).has_value());
    } else if (comm.rank() == 1) {
      auto found = co_await comm.probe(MPI_ANY_SOURCE, 9);
      CO_ASSERT_TRUE(found.has_value());
      EXPECT_EQ(found->source, 0);
      EXPECT_EQ(found->count<int>(), 37u);
      std::vector<int> data(found->count<int>());
      auto got = co_await comm.recv(data, found->source, 9);
      CO_ASSERT_TRUE(got.has_value());
      EXPECT_EQ(data.front(), 100);
      EXPECT_EQ(data.back(), 136);
    }
    EXPECT_TRUE((co_await comm.barrier()).has_value());
  }());
}

TEST(mpi_ops, collectives_broadcast_reduce_all_reduce_and_gather) {
  auto comm = world();
  int n = comm.size();
  test::run_test([&]() -> task<void> {
    std::vector<double> shared(4, comm.rank() == n - 1 ? 2.5 : 0.0);
    CO_ASSERT_TRUE((co_await comm.broadcast(shared, n - 1)).has_value());
    EXPECT_EQ(shared, std::vector<double>(4, 2.5));

    std::vector<long> mine{comm.rank() + 1L, 10L * comm.rank()};
    std::vector<long> sums(2, -1);
    CO_ASSERT_TRUE((co_await comm.reduce(mine, sums, reduce_op::sum, 0)).has_value());
    if (comm.rank() == 0) {
      EXPECT_EQ(sums[0], n * (n + 1L) / 2);
      EXPECT_EQ(sums[1], 10L * n * (n - 1) / 2);
    } else {
      EXPECT_EQ(sums[0], -1);  // untouched away from the root
    }

    std::vector<int> rank_as_int{comm.rank()};
    std::vector<int> highest(1);
    CO_ASSERT_TRUE((co_await comm.all_reduce(rank_as_int, highest, reduce_op::max)).has_value());
    EXPECT_EQ(highest[0], n - 1);

    struct pair {
      int rank;
      char tag;
    };
    std::vector<pair> one{{comm.rank(), static_cast<char>('a' + comm.rank())}};
    std::vector<pair> all(comm.rank() == 1 ? static_cast<std::size_t>(n) : 0u);
    CO_ASSERT_TRUE((co_await comm.gather(one, all, 1)).has_value());
    if (comm.rank() == 1) {
      for (int r = 0; r < n; ++r) {
        EXPECT_EQ(all[static_cast<std::size_t>(r)].rank, r);
        EXPECT_EQ(all[static_cast<std::size_t>(r)].tag, 'a' + r);
      }
    }
  }());
}

TEST(mpi_ops, a_receive_cut_short_by_a_timeout_takes_nothing_and_the_next_receive_gets_the_message) {
  auto comm = world();
  test::run_test([&]() -> task<void> {
    if (comm.rank() == 1) {
      std::vector<int> first(1, -1);
      auto waited = co_await timeout(50ms, comm.recv(first, 0, 7));
      CO_ASSERT_TRUE(!waited.has_value());
      EXPECT_EQ(waited.error(), errc::timed_out);
      auto probed = co_await timeout(20ms, comm.probe(0, 7));
      CO_ASSERT_TRUE(!probed.has_value());
      EXPECT_EQ(probed.error(), errc::timed_out);
      EXPECT_EQ(first[0], -1);
    }
    EXPECT_TRUE((co_await comm.barrier()).has_value());
    if (comm.rank() == 0) {
      std::vector<int> value{42};
      EXPECT_TRUE((co_await comm.send(value, 1, 7)).has_value());
    } else if (comm.rank() == 1) {
      std::vector<int> second(1, -1);
      auto got = co_await timeout(10s, comm.recv(second, 0, 7));
      CO_ASSERT_TRUE(got.has_value());
      EXPECT_EQ(second[0], 42);
    }
    EXPECT_TRUE((co_await comm.barrier()).has_value());
  }());
}

TEST(mpi_ops, a_cancelled_task_cuts_its_receive_short_and_a_collective_waits_on) {
  auto comm = world();
  test::run_test([&]() -> task<void> {
    if (comm.rank() == 1) {
      auto receiver = spawn(receive_outcome(comm, 0, 8));
      co_await sleep_for(20ms);
      receiver.cancel();
      EXPECT_EQ(co_await std::move(receiver), 2);
    }
    // Every rank but 0 comes to the barrier 100 ms late; rank 0's task is cancelled meanwhile, and its
    // barrier still ends only when all have come (MPI cannot cancel a collective).
    auto start = std::chrono::steady_clock::now();
    auto waiter = spawn(late_barrier(comm, comm.rank() != 0 ? 100ms : 0ms));
    if (comm.rank() == 0) {
      co_await sleep_for(10ms);
      waiter.cancel();
    }
    EXPECT_TRUE(co_await std::move(waiter));
    if (comm.rank() == 0) {
      EXPECT_GE(std::chrono::steady_clock::now() - start, 80ms);
    }
  }());
}

TEST(mpi_ops, many_tasks_on_several_loops_exchange_messages_concurrently) {
  auto comm = world();
  int partner = comm.rank() ^ 1;
  if (partner >= comm.size()) GTEST_SKIP() << "an odd rank out";
  runtime_options o = test::options();
  o.workers = 4;
  constexpr int tasks = 200;
  std::atomic<int> correct{0};
  run([&]() -> task<void> {
    std::vector<join_handle<void>> all;
    for (int t = 0; t < tasks; ++t) all.push_back(spawn(exchange(comm, partner, t, correct)));
    co_await join_all(all);
  }(), o);
  EXPECT_EQ(correct.load(), tasks);
}

TEST(mpi_ops, parallel_map_returns_every_result_in_order_at_rank_0) {
  auto comm = world();
  auto squares = test::run_test(mpi::parallel_map(10'000, [](std::size_t i) { return i * i; }));
  if (comm.rank() == 0) {
    ASSERT_EQ(squares.size(), 10'000u);
    for (std::size_t i = 0; i < squares.size(); ++i) ASSERT_EQ(squares[i], i * i) << i;
  } else {
    EXPECT_TRUE(squares.empty());
  }
}

TEST(mpi_ops, parallel_map_gives_a_slow_rank_fewer_chunks) {
  auto comm = world();
  int me = comm.rank();
  int slow = comm.size() - 1;
  mpi::map_options options;
  options.chunk = 4;
  auto who = test::run_test(mpi::parallel_map(
      400,
      [me, slow](std::size_t) {
        std::this_thread::sleep_for(me == slow ? 5ms : 200us);
        return me;
      },
      options));
  if (me == 0) {
    ASSERT_EQ(who.size(), 400u);
    auto slow_items = std::count(who.begin(), who.end(), slow);
    auto root_items = std::count(who.begin(), who.end(), 0);
    EXPECT_GT(slow_items, 0);  // it asked, and got work
    EXPECT_LT(slow_items * 3, root_items) << "slow " << slow_items << ", rank 0 " << root_items;
  }
}

TEST(mpi_ops, a_failure_on_one_rank_is_reported_on_every_rank_with_that_rank) {
  auto comm = world();
  int me = comm.rank();
  int failing = comm.size() - 1;
  mpi::map_options options;
  options.chunk = 1;
  std::atomic<int> calls{0};
  try {
    test::run_test(mpi::for_each(
        200,
        [&](std::size_t i) {
          ++calls;
          std::this_thread::sleep_for(1ms);
          if (me == failing) throw std::runtime_error("item " + std::to_string(i) + " is bad");
        },
        options));
    ADD_FAILURE() << "for_each returned";
  } catch (const mpi::remote_error& e) {
    EXPECT_EQ(e.rank(), failing);
    EXPECT_NE(std::string(e.what()).find("is bad"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("rank " + std::to_string(failing) + ": item ", 0), 0u) << e.what();
  }
  EXPECT_LT(calls.load(), 200);  // no chunks were handed out after the failure... on this rank, fewer than all
}

TEST(mpi_ops, an_exception_with_no_message_is_still_a_failure_and_no_items_is_no_work) {
  auto comm = world();
  int failing = comm.size() - 1;
  mpi::map_options options;
  options.chunk = 1;
  try {
    test::run_test(mpi::for_each(100, [&](std::size_t) {
      std::this_thread::sleep_for(1ms);
      if (comm.rank() == failing) throw std::runtime_error("");
    }, options));
    ADD_FAILURE() << "for_each returned";
  } catch (const mpi::remote_error& e) {
    EXPECT_EQ(e.rank(), failing);
  }
  auto none = test::run_test(mpi::parallel_map(0, [](std::size_t i) { return i; }));
  EXPECT_TRUE(none.empty());
}

TEST(mpi_ops, for_each_visits_every_item_once_across_the_ranks) {
  auto comm = world();
  std::vector<std::atomic<int>> seen(3000);
  test::run_test(mpi::for_each(3000, [&](std::size_t i) { ++seen[i]; }));
  std::vector<int> mine(3000), total(3000);
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = seen[i].load();
  test::run_test([&]() -> task<void> { EXPECT_TRUE((co_await comm.all_reduce(mine, total, reduce_op::sum)).has_value()); }());
  for (std::size_t i = 0; i < total.size(); ++i) ASSERT_EQ(total[i], 1) << i;
}

}  // namespace
}  // namespace weft

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  weft::mpi::environment mpi(argc, argv);
  weft::env = &mpi;
  // Only rank 0 prints gtest's progress; every rank's failures still print, and fail its exit status.
  if (mpi.world().rank() != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
