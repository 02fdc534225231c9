// send_result<T>: the outcome of sending a value, which hands the value back when the send fails.
#pragma once

#include <optional>
#include <system_error>
#include <utility>

namespace weft {

template <class T>
class [[nodiscard]] send_result {
 public:
  /// Sent.
  send_result() noexcept = default;
  /// Not sent: why, and the value, returned to the sender.
  send_result(std::error_code error, T&& value) : error_(error), value_(std::move(value)) {}

  explicit operator bool() const noexcept { return !error_; }
  /// errc::channel_closed, errc::operation_canceled, or std::errc::operation_would_block (try_send).
  std::error_code error() const noexcept { return error_; }
  /// The value that was not sent. Only for a failed send, once.
  T take_back() { return std::move(*value_); }

 private:
  std::error_code error_;
  std::optional<T> value_;
};

template <class T>
inline constexpr bool is_send_result_v = false;
template <class T>
inline constexpr bool is_send_result_v<send_result<T>> = true;

}  // namespace weft
