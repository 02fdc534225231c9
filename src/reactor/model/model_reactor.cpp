// The model build's reactor (make model): wake-ups only, no descriptors. It lets the model checker run
// the real loops (runtime/worker.cpp) with their sleep and wake-up protocol, as the epoll backend's
// eventfd would: wake() adds one to a counter, a poll that may wait drains it and blocks while it was
// zero (until its timeout, on the model's clock), and a poll that does not wait drains what is there.
// Compiled instead of reactor/epoll/ in the model build only; add() refuses every descriptor.
#include <cstdint>
#include <memory>
#include <system_error>

#include "reactor/reactor.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/model.hpp"

namespace weft::detail {
namespace {

class model_reactor final : public reactor {
 public:
  int poll(int timeout_ms) override {
    if (timeout_ms == 0) {
      // A poll that does not wait is still a system call: the other threads run meanwhile (without
      // this, a loop that polls while it waits for another thread's step would run alone for ever).
      thread_yield();
      (void)pending_.exchange(0, std::memory_order_acq_rel);
      return 0;
    }
    std::int64_t deadline = timeout_ms < 0 ? -1 : model::hook::now_ns() + std::int64_t{timeout_ms} * 1'000'000;
    // The drain reads the newest count (a read-modify-write), as the kernel's look at the eventfd
    // does; it and the block are one step (nothing runs between them), as a futex's compare and sleep.
    while (pending_.exchange(0, std::memory_order_acq_rel) == 0) {
      if (!model::hook::block_until(&pending_, "the reactor's poll", deadline)) break;
    }
    return 0;
  }
  std::error_code add(io_state*, bool) noexcept override { return std::make_error_code(std::errc::not_supported); }
  void remove(io_state*) noexcept override {}
  std::error_code watch_writes(io_state*) noexcept override { return std::make_error_code(std::errc::not_supported); }
  void wake() noexcept override {
    pending_.fetch_add(1, std::memory_order_release);
    model::hook::wake(&pending_, true);
  }

 private:
  atomic<std::uint32_t> pending_{0};
};

}  // namespace

// The model build has one backend, whatever the loop asks for.
std::unique_ptr<reactor> make_reactor(reactor_kind) { return std::make_unique<model_reactor>(); }

}  // namespace weft::detail
