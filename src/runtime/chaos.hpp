// Chaos: a seeded perturbation of scheduling, to shake out interleavings that quiet runs never reach
// (runtime_options::chaos_seed, or WEFT_CHAOS=SEED in the environment). With a seed, each loop:
// - runs its ready tasks in a random order (as shuffle_seed does): every await point may be followed
//   by any other ready task first, which is what a random yield there would do;
// - pauses for a random moment before some cross-thread wake-ups and posts (remote_schedule, post),
//   so that the other side often gets ahead;
// - makes random steal decisions: sometimes steals a lone task it would have left alone, sometimes
//   does not look at all this time (the last look before sleeping still finds the work);
// - fires timers up to two ticks late (never early: a sleep still never ends before its deadline), on
//   real time only: virtual time (start_paused) stays exact.
// - yields at about one in four await points that complete without waiting (worker::budget_spent),
//   so that the code after an await meets the interleavings a real wait would bring.
//
// Replay: on one loop, the same seed gives the same run (the order and the jitter come from the seed
// alone). On several workers the seed fixes each loop's choices, but the threads' timing still varies:
// a failing seed is a strong hint, not an exact replay. The model checker (tests/model) is the tool
// that replays a cross-thread interleaving exactly.
#pragma once

#include <cstdint>

namespace weft::detail {

class chaos {
 public:
  /// The seed from the options, else from WEFT_CHAOS; 0: off.
  static std::uint64_t seed_or_env(std::uint64_t seed) noexcept;

  chaos() noexcept = default;
  chaos(std::uint64_t seed, std::uint64_t stream) noexcept
      : state_(seed == 0 ? 0 : (seed ^ 0x5DEECE66Dull) * 0x9E3779B97F4A7C15ull + stream * 0xBF58476D1CE4E5B9ull + 1) {}

  bool on() const noexcept { return state_ != 0; }
  /// xorshift64. Loop thread only, like on(): other threads look at the seed instead.
  std::uint64_t next() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  /// True about once in `n` calls.
  bool one_in(std::uint64_t n) noexcept { return next() % n == 0; }

  /// From any thread, around a cross-thread hand-off: sometimes spins up to ~20 µs, sometimes yields
  /// the CPU. Its randomness is the calling thread's own, seeded from `seed` and `runtime` (a
  /// runtime's serial, runtime_serial()): a thread that outlives one runtime (the caller's, a pool's)
  /// starts the next runtime's stream afresh, from that runtime's seed.
  static void pause_a_moment(std::uint64_t seed, std::uint64_t runtime) noexcept;
  /// A number for each runtime, in the order they are made (its first worker takes a new one).
  static std::uint64_t runtime_serial(bool new_runtime) noexcept;

 private:
  std::uint64_t state_ = 0;
};

}  // namespace weft::detail
