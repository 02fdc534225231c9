// Invariants under timeouts and cancellation, on every worker at once: producers and consumers on a
// channel, tasks taking a semaphore's permits and a mutex, each await under a random deadline, and a
// random share of the tasks cancelled from another task while they wait. Everything is accounted for:
// - every value sent is received exactly once, or handed back to its sender (send timed out or was
//   cancelled), or still in the channel at the end, where it is drained;
// - every permit is returned (available() is back to the start), and the mutex was held by one task at
//   a time (a plain counter incremented under it matches the number of successful locks).
// Prints one line; exits 1 on a broken invariant. Run with WEFT_CHAOS=SEED to perturb scheduling.
//
//     stress_sync_accounting [rounds=20] [workers=4] [seed=1]
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace weft;
using namespace std::chrono_literals;

namespace {

struct counts {
  std::atomic<long> sent{0}, handed_back{0}, received{0}, drained{0};
  std::atomic<long> acquired{0}, locks{0};
  long guarded = 0;  // only under the mutex
};

clock::duration random_wait(std::mt19937& rng) { return std::chrono::microseconds(rng() % 400); }

task<void> producer(channel<long>& ch, counts& c, unsigned seed, int values) {
  std::mt19937 rng(seed);
  for (int i = 0; i < values; ++i) {
    auto r = co_await timeout(random_wait(rng), [&]() -> task<send_result<long>> { co_return co_await ch.send(1); }());
    if (!r) {  // the timeout's own failure: cannot happen for a send (its value comes back inside)
      std::fprintf(stderr, "producer: %s\n", r.error().message().c_str());
      std::abort();
    }
    if (*r) {
      ++c.sent;
    } else {
      ++c.handed_back;
      if (r->take_back() != 1) std::abort();
    }
  }
}

task<void> consumer(channel<long>& ch, counts& c, unsigned seed) {
  std::mt19937 rng(seed);
  for (;;) {
    auto r = co_await timeout(random_wait(rng), [&]() -> task<result<long>> { co_return co_await ch.receive(); }());
    if (r) {
      c.received += *r;
    } else if (r.error() == errc::channel_closed) {
      co_return;
    } else if (r.error() == errc::operation_canceled) {
      co_return;  // this consumer was cancelled
    }
  }
}

task<void> permit_taker(semaphore& sem, mutex& m, counts& c, unsigned seed, int rounds) {
  std::mt19937 rng(seed);
  for (int i = 0; i < rounds; ++i) {
    auto p = co_await timeout(random_wait(rng), [&]() -> task<result<void>> { co_return co_await sem.acquire(); }());
    if (p) {
      ++c.acquired;
      if (rng() % 2 == 0) co_await yield_now();
      sem.release();
    } else if (p.error() == errc::operation_canceled) {
      co_return;
    }
    auto g = co_await timeout(random_wait(rng), [&]() -> task<result<mutex::guard>> { co_return co_await m.lock(); }());
    if (g) {
      ++c.locks;
      long before = c.guarded;
      if (rng() % 2 == 0) co_await yield_now();
      c.guarded = before + 1;  // a lost update here would mean two holders at once
    } else if (g.error() == errc::operation_canceled) {
      co_return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  std::size_t workers = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4;
  unsigned seed = argc > 3 ? static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10)) : 1;
  const char* chaos = std::getenv("WEFT_CHAOS");
  runtime_options o;
  o.workers = workers;
  runtime rt(o);
  counts c;
  constexpr std::size_t permits = 3;
  semaphore sem(permits);
  mutex m;
  long total = 0;
  rt.block_on([&]() -> task<void> {
    std::mt19937 rng(seed);
    for (int round = 0; round < rounds; ++round) {
      channel<long> ch(static_cast<std::size_t>(rng() % 4));  // 0: rendezvous
      std::vector<join_handle<void>> producers, consumers, takers;
      for (int p = 0; p < 6; ++p) {
        producers.push_back(spawn(producer(ch, c, static_cast<unsigned>(rng()), 50)));
        total += 50;
      }
      for (int k = 0; k < 4; ++k) consumers.push_back(spawn(consumer(ch, c, static_cast<unsigned>(rng()))));
      for (int t = 0; t < 6; ++t) takers.push_back(spawn(permit_taker(sem, m, c, static_cast<unsigned>(rng()), 30)));
      co_await sleep_for(std::chrono::microseconds(rng() % 2000));
      // Cancel some, from here (often another worker than theirs), while they wait.
      consumers[rng() % consumers.size()].cancel();
      takers[rng() % takers.size()].cancel();
      producers[rng() % producers.size()].cancel();
      co_await join_all(producers);
      ch.close();
      co_await join_all(consumers);
      co_await join_all(takers);
      while (auto v = ch.try_receive()) c.drained += *v;
    }
  }());
  long cancelled_sends = total - c.sent - c.handed_back;  // a cancelled producer stops sending
  bool ok = c.sent == c.received + c.drained && sem.available() == permits && c.guarded == c.locks;
  std::printf("%d rounds on %zu workers%s%s: %ld sent (%ld received, %ld drained), %ld handed back, %ld not sent "
              "(producer cancelled); %ld permits taken, %zu of %zu free at the end; %ld locks, guarded count %ld%s\n",
              rounds, workers, chaos ? ", WEFT_CHAOS=" : "", chaos ? chaos : "", c.sent.load(), c.received.load(),
              c.drained.load(), c.handed_back.load(), cancelled_sends, c.acquired.load(), sem.available(), permits,
              c.locks.load(), c.guarded, ok ? "" : "  -- INVARIANT BROKEN");
  return ok ? 0 : 1;
}
