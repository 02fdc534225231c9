// The race of issue "no value lost to a timeout": a task receives from a channel under a deadline while
// a task on another worker sends at the same instant. Every value must be received exactly once: by
// the receiver (even when the deadline fell in the same turn), or left in the channel when the
// receiver timed out first. Prints the count of lost and duplicated values; exits 1 if any.
//
//     stress_timeout_channel [trials=100000] [workers=2] [batch=500]
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace weft;
using namespace std::chrono_literals;

namespace {

struct tally {
  std::atomic<long> received{0};
  std::atomic<long> left{0};
  std::atomic<long> timed_out{0};
  std::atomic<long> bad{0};
};

/// One trial: the receiver on worker `r`, the sender on worker `s`, both due at `due`.
task<void> trial(runtime& rt, std::size_t r, std::size_t s, clock::time_point due, tally& t) {
  channel<long> ch(1);
  auto sender = rt.spawn_on(s, [&ch, due]() -> task<void> {
    (void)co_await sleep_until(due);
    (void)ch.try_send(1);
  });
  auto receiver = rt.spawn_on(r, [&ch, due]() -> task<result<long>> {
    co_return co_await timeout(due - clock::now(), [&ch]() -> task<result<long>> { co_return co_await ch.receive(); }());
  });
  result<long> got = co_await std::move(receiver);
  co_await std::move(sender);
  long in_channel = ch.try_receive().has_value() ? 1 : 0;
  long received = got.has_value() ? *got : 0;
  if (!got && got.error() != errc::timed_out) ++t.bad;
  if (!got) ++t.timed_out;
  t.received += received;
  t.left += in_channel;
  if (received + in_channel != 1) ++t.bad;
}

}  // namespace

int main(int argc, char** argv) {
  long trials = argc > 1 ? std::atol(argv[1]) : 100000;
  std::size_t workers = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2;
  long batch = argc > 3 ? std::atol(argv[3]) : 500;
  runtime_options o;
  o.workers = workers;
  runtime rt(o);
  tally t;
  rt.block_on([&]() -> task<void> {
    for (long done = 0; done < trials; done += batch) {
      task_group g;
      auto due = clock::now() + 1ms;
      for (long i = 0; i < batch && done + i < trials; ++i) {
        auto r = static_cast<std::size_t>(i) % workers;
        g.spawn(trial(rt, r, (r + 1) % workers, due, t));
      }
      co_await g.join();
    }
  }());
  long lost = trials - t.received - t.left;
  std::printf("%ld trials on %zu workers: %ld received, %ld timed out (value left in the channel: %ld), "
              "%ld lost, %ld bad\n",
              trials, workers, t.received.load(), t.timed_out.load(), t.left.load(), lost, t.bad.load());
  return lost == 0 && t.bad == 0 ? 0 : 1;
}
