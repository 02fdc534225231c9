// The checker's self-test: models of known bugs that it must find (a lost update, a publication through
// a relaxed flag, a lock-order deadlock, a missing notify) and their correct forms, which must pass. A
// case of a bug passes when the bug is found and its printed schedule replays it.
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"
#include "prelude.hpp"

namespace weft::model {
namespace {

// Two threads increment with a load and a store: one increment can overwrite the other.
struct counter {
  atomic<int> x{0};
};
WEFT_MODEL_CASE(lost_update, "selftest/lost_update_is_found") {
  auto run = [&](options opts) {
    return check<counter>(
        name,
        [](counter& s) {
          auto increment = [&s] { s.x.store(s.x.load(relaxed) + 1, relaxed); };
          thread a(increment), b(increment);
          a.join();
          b.join();
        },
        [](counter& s) { WEFT_MODEL_REQUIRE(s.x.load() == 2); }, std::move(opts));
  };
  return expect_failure(run({}), "s.x.load() == 2", run);
}

// Message passing: a plain field, then a flag; the reader reads the field once it sees the flag.
template <std::memory_order Store, std::memory_order Load>
report publication(std::string_view name, options opts) {
  return check(
      name,
      [] {
        cell<int> data;
        atomic<bool> ready{false};
        thread writer([&] {
          data.set(42);
          ready.store(true, Store);
        });
        if (ready.load(Load)) WEFT_MODEL_REQUIRE(data.get() == 42);
        writer.join();
      },
      std::move(opts));
}
WEFT_MODEL_CASE(relaxed_publication, "selftest/relaxed_publication_races") {
  auto run = [&](options opts) { return publication<relaxed, relaxed>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}
WEFT_MODEL_CASE(release_acquire_publication, "selftest/release_acquire_publication") {
  return publication<release, acquire>(name, {});
}

// The same through fences: a relaxed flag between a release fence and an acquire fence.
WEFT_MODEL_CASE(fence_publication, "selftest/fence_publication") {
  return check(name, [] {
    cell<int> data;
    atomic<bool> ready{false};
    thread writer([&] {
      data.set(42);
      weft::detail::atomic_thread_fence(release);
      ready.store(true, relaxed);
    });
    if (ready.load(relaxed)) {
      weft::detail::atomic_thread_fence(acquire);
      WEFT_MODEL_REQUIRE(data.get() == 42);
    }
    writer.join();
  });
}

// A test-and-test-and-set spin lock around a plain counter; `Unlock` relaxed breaks it.
template <std::memory_order Unlock>
struct spin_counter {
  atomic<bool> locked{false};
  cell<int> count;

  void increment() {
    while (locked.exchange(true, acquire)) {
      while (locked.load(relaxed)) weft::detail::cpu_relax();
    }
    count.with_mut([](int& n) { ++n; });
    locked.store(false, Unlock);
  }
};
template <std::memory_order Unlock>
report spin_lock_model(std::string_view name, options opts) {
  using state = spin_counter<Unlock>;
  return check<state>(
      name,
      [](state& s) {
        thread a([&s] { s.increment(); });
        s.increment();
        a.join();
      },
      [](state& s) { WEFT_MODEL_REQUIRE(s.count.get() == 2); }, std::move(opts));
}
WEFT_MODEL_CASE(spin_lock, "selftest/spin_lock") { return spin_lock_model<release>(name, {}); }
WEFT_MODEL_CASE(spin_lock_relaxed_unlock, "selftest/spin_lock_relaxed_unlock_races") {
  auto run = [&](options opts) { return spin_lock_model<relaxed>(name, std::move(opts)); };
  return expect_failure(run({}), "data race", run);
}

// Three threads take the spin lock: while one holds it, the other two may both spin. A spinner is
// passed over until the threads it yielded to have taken a step; were it passed over only until any
// other thread had, the two spinners could take turns for ever without a preemption, and this search
// would not end (or end in a false livelock).
WEFT_MODEL_CASE(two_spinners, "selftest/two_spinners_wait_for_the_holder") {
  using state = spin_counter<release>;
  return check<state>(
      name,
      [](state& s) {
        thread a([&s] { s.increment(); });
        thread b([&s] { s.increment(); });
        s.increment();
        a.join();
        b.join();
      },
      [](state& s) { WEFT_MODEL_REQUIRE(s.count.get() == 3); });
}

// Two mutexes taken in opposite orders.
struct two_mutexes {
  weft::detail::mutex a, b;
};
WEFT_MODEL_CASE(lock_order_deadlock, "selftest/lock_order_deadlock_is_found") {
  auto run = [&](options opts) {
    return check<two_mutexes>(
        name,
        [](two_mutexes& s) {
          thread t([&s] {
            std::lock_guard first(s.b);
            std::lock_guard second(s.a);
          });
          {
            std::lock_guard first(s.a);
            std::lock_guard second(s.b);
          }
          t.join();
        },
        [](two_mutexes&) {}, std::move(opts));
  };
  return expect_failure(run({}), "deadlock", run);
}

// atomic wait/notify: a waiter sleeps until a flag changes; without the notify it may sleep forever.
template <bool Notify>
report wait_notify(std::string_view name, options opts) {
  return check(
      name,
      [] {
        cell<int> data;
        atomic<int> flag{0};
        thread waiter([&] {
          flag.wait(0, acquire);
          WEFT_MODEL_REQUIRE(data.get() == 7);
        });
        data.set(7);
        flag.store(1, release);
        if (Notify) flag.notify_one();
        waiter.join();
      },
      std::move(opts));
}
WEFT_MODEL_CASE(wait_notify_ok, "selftest/wait_notify") { return wait_notify<true>(name, {}); }
WEFT_MODEL_CASE(missing_notify, "selftest/missing_notify_is_found") {
  auto run = [&](options opts) { return wait_notify<false>(name, std::move(opts)); };
  return expect_failure(run({}), "deadlock", run);
}

// The search itself: without a preemption bound, two threads of three steps each run in all 20 orders.
WEFT_MODEL_CASE(complete, "selftest/exploration_is_complete") {
  std::set<std::string> orders;
  options opts;
  opts.preemption_bound = 100;
  report r = check(
      name,
      [&orders] {
        std::string order;  // plain: only one model thread runs at a time
        atomic<int> a{0}, b{0};
        auto steps = [&order](atomic<int>& x, char tag) {
          for (int i = 0; i < 3; ++i) {
            x.store(i, relaxed);
            order += tag;
          }
        };
        thread first([&] { steps(a, 'a'); });
        thread second([&] { steps(b, 'b'); });
        first.join();
        second.join();
        orders.insert(order);
      },
      opts);
  if (!r.failed && orders.size() != 20) {
    r.failed = true;
    r.failure = "expected all 20 orders of two threads of 3 steps, saw " + std::to_string(orders.size());
  }
  return r;
}

// A thread that spins on a flag no one sets: the run exceeds its steps and is reported as a livelock.
WEFT_MODEL_CASE(spin_forever, "selftest/livelock_is_found") {
  auto run = [&](options opts) {
    opts.max_steps = 500;
    return check(
        name,
        [] {
          atomic<bool> go{false};
          thread spinner([&] {
            while (!go.load(acquire)) weft::detail::cpu_relax();
          });
          spinner.join();
        },
        std::move(opts));
  };
  return expect_failure(run({}), "livelock", run);
}

// An atomic used after its object was destroyed (a thread that still holds a pointer to a freed
// primitive): every access after the destructor fails the run, as ASan would on freed memory.
WEFT_MODEL_CASE(use_after_destroy, "selftest/use_after_destroy_is_found") {
  auto run = [&](options opts) {
    return check(
        name,
        [] {
          std::optional<atomic<int>> flag;
          flag.emplace(0);
          atomic<int>* seen = &*flag;
          thread user([seen] { (void)seen->load(acquire); });
          flag.reset();
          user.join();
        },
        std::move(opts));
  };
  return expect_failure(run({}), "use after free", run);
}

// A mutex and a condition variable: a consumer waits for what a producer puts under the lock.
struct mailbox {
  weft::detail::mutex lock;
  weft::detail::condition_variable changed;
  cell<int> letters;
};
WEFT_MODEL_CASE(condition_variable, "selftest/condition_variable") {
  return check<mailbox>(
      name,
      [](mailbox& s) {
        thread consumer([&s] {
          std::unique_lock lock(s.lock);
          s.changed.wait(lock, [&s] { return s.letters.get() > 0; });
          s.letters.with_mut([](int& n) { --n; });
        });
        {
          std::lock_guard lock(s.lock);
          s.letters.with_mut([](int& n) { ++n; });
        }
        s.changed.notify_one();
        consumer.join();
      },
      [](mailbox& s) { WEFT_MODEL_REQUIRE(s.letters.get() == 0); });
}

// Weak memory (options::weak_memory): a load may read an older store where C++ allows it.
options weak() {
  options o;
  o.weak_memory = true;
  return o;
}

// Store buffering: each thread stores one flag and loads the other. With relaxed (or release/acquire)
// atomics both loads may miss the other's store; seq_cst accesses, or seq_cst fences between, forbid it.
template <std::memory_order Store, std::memory_order Load, bool Fences>
report store_buffering(std::string_view name, options opts) {
  return check(name, [] {
    atomic<int> x{0};
    atomic<int> y{0};
    int seen_by_other = -1;
    thread other([&] {
      y.store(1, Store);
      if constexpr (Fences) weft::detail::atomic_thread_fence(seq_cst);
      seen_by_other = x.load(Load);
    });
    x.store(1, Store);
    if constexpr (Fences) weft::detail::atomic_thread_fence(seq_cst);
    int seen = y.load(Load);
    other.join();
    WEFT_MODEL_REQUIRE(seen == 1 || seen_by_other == 1);
  }, std::move(opts));
}

WEFT_MODEL_CASE(sb_relaxed, "selftest/store_buffering_is_found_under_weak_memory") {
  auto run = [&](options opts) {
    opts.weak_memory = true;
    return store_buffering<relaxed, relaxed, false>(name, std::move(opts));
  };
  return expect_failure(run({}), "seen == 1 || seen_by_other == 1", run);
}

WEFT_MODEL_CASE(sb_release_acquire, "selftest/store_buffering_release_acquire_is_found") {
  auto run = [&](options opts) {
    opts.weak_memory = true;
    return store_buffering<release, acquire, false>(name, std::move(opts));
  };
  return expect_failure(run({}), "seen == 1 || seen_by_other == 1", run);
}

WEFT_MODEL_CASE(sb_seq_cst, "selftest/store_buffering_seq_cst_passes") {
  return store_buffering<seq_cst, seq_cst, false>(name, weak());
}

WEFT_MODEL_CASE(sb_fences, "selftest/store_buffering_with_seq_cst_fences_passes") {
  return store_buffering<relaxed, relaxed, true>(name, weak());
}

// Message passing through atomics: the data's store, then the flag's; the reader loads the flag, then
// the data. A release store read by an acquire load carries the data; relaxed ones need not.
template <std::memory_order Flag, std::memory_order Read>
report message_passing(std::string_view name, options opts) {
  return check(name, [] {
    atomic<int> data{0};
    atomic<bool> ready{false};
    thread writer([&] {
      data.store(42, relaxed);
      ready.store(true, Flag);
    });
    if (ready.load(Read)) WEFT_MODEL_REQUIRE(data.load(relaxed) == 42);
    writer.join();
  }, std::move(opts));
}

WEFT_MODEL_CASE(mp_release_acquire, "selftest/message_passing_release_acquire_passes") {
  return message_passing<release, acquire>(name, weak());
}

WEFT_MODEL_CASE(mp_relaxed, "selftest/message_passing_relaxed_is_found") {
  auto run = [&](options opts) {
    opts.weak_memory = true;
    return message_passing<relaxed, relaxed>(name, std::move(opts));
  };
  return expect_failure(run({}), "data.load(relaxed) == 42", run);
}

// Coherence: two loads of one atomic by one thread never go back in its modification order.
WEFT_MODEL_CASE(coherence, "selftest/reads_never_go_back_under_weak_memory") {
  return check(name, [] {
    atomic<int> x{0};
    thread writer([&] {
      x.store(1, relaxed);
      x.store(2, relaxed);
    });
    int first = x.load(relaxed);
    int second = x.load(relaxed);
    writer.join();
    WEFT_MODEL_REQUIRE(second >= first);
    WEFT_MODEL_REQUIRE(x.load(relaxed) == 2);  // after the join, the writer's stores happen-before
  }, weak());
}

}  // namespace
}  // namespace weft::model
