#include "weft/runtime.hpp"

#include "runtime/worker.hpp"

namespace weft {

namespace detail {
void worker_deleter::operator()(worker* w) const noexcept { delete w; }
void run_until_done(worker* w, spawn_state_base* root) { w->run_until_done(root); }
}  // namespace detail

runtime::runtime() : runtime(runtime_options{}) {}

runtime::runtime(runtime_options options) : worker_(new detail::worker(std::move(options))) {}

runtime::~runtime() = default;

void runtime::post(detail::unique_function fn) { worker_->post(std::move(fn)); }

std::size_t runtime::live_tasks() const noexcept { return worker_->live_tasks(); }

}  // namespace weft
