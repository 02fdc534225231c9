// A move-only `void()` callable, for work posted across threads (std::function needs copyable targets).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace weft::detail {

class unique_function {
 public:
  unique_function() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, unique_function> && std::is_invocable_v<std::decay_t<F>&>)
  unique_function(F&& f) : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }
  void operator()() { impl_->call(); }

 private:
  struct concept_ {
    virtual ~concept_() = default;
    virtual void call() = 0;
  };
  template <class F>
  struct model final : concept_ {
    explicit model(F&& f) : fn(std::move(f)) {}
    explicit model(const F& f) : fn(f) {}
    void call() override { fn(); }
    F fn;
  };
  std::unique_ptr<concept_> impl_;
};

}  // namespace weft::detail
