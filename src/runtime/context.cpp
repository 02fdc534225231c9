#include "weft/detail/context.hpp"

namespace weft::detail {

void context::attach(context* parent) noexcept {
  detach();
  parent_ = parent;
  if (parent == nullptr) return;
  if (name_.empty()) name_ = parent->name_;
  if (trace_id_ == 0) trace_id_ = parent->trace_id_;
  next_ = parent->first_child_;
  if (next_ != nullptr) next_->prev_ = this;
  parent->first_child_ = this;
  // A node joining a cancelled parent is cancelled with everything already below it.
  if (parent->cancelled()) cancel();
}

void context::detach() noexcept {
  if (parent_ == nullptr) return;
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    parent_->first_child_ = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
  parent_ = next_ = prev_ = nullptr;
}

bool context::cancel() noexcept {
  if (cancelled()) {
    // The flag alone may have been set from another thread before the task started: still cut
    // short what is armed now and cancel the children, once.
    if (waiter_ == nullptr && first_child_ == nullptr) return false;
  }
  cancelled_.store(true, std::memory_order_relaxed);
  bool cut = false;
  if (cancel_waiter* w = waiter_) {
    waiter_ = nullptr;
    cut = w->on_cancel(w);
  }
  // on_cancel only schedules; it never destroys nodes, so the child list is stable here.
  for (context* c = first_child_; c != nullptr; c = c->next_) cut = c->cancel() || cut;
  if (cut) cut_ = true;
  return cut;
}

void context::note_late_cut() noexcept {
  for (context* c = this; c != nullptr && c->cancelled(); c = c->parent_) c->cut_ = true;
}

}  // namespace weft::detail
