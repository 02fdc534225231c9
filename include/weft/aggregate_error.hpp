// aggregate_error: several failures reported as one exception (JavaScript's AggregateError).
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft {

/// Thrown by `first_success` when every task failed, and by a `collect_all` task_group's join when any
/// task failed. `errors()` holds each failure in completion order.
class aggregate_error : public std::runtime_error {
 public:
  explicit aggregate_error(std::vector<std::exception_ptr> errors);
  const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::exception_ptr> errors_;
};

}  // namespace weft
