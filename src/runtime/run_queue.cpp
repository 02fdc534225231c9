#include "runtime/run_queue.hpp"

namespace weft::detail {

run_queue::run_queue() : buf_(new runnable[256]), capacity_(256) {}

void run_queue::grow() {
  std::unique_ptr<runnable[]> bigger(new runnable[capacity_ * 2]);
  for (std::size_t i = 0; i < capacity_; ++i) bigger[i] = buf_[(head_ + i) & (capacity_ - 1)];
  head_ = 0;
  tail_ = capacity_;
  capacity_ *= 2;
  buf_ = std::move(bigger);
}

}  // namespace weft::detail
