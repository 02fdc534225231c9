#include "weft/error.hpp"

namespace weft {
namespace {

class weft_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok:
        return "success";
#define WEFT_ERRC_MESSAGE(name, message) \
  case errc::name:                       \
    return message;
        WEFT_ERRC_MAP(WEFT_ERRC_MESSAGE)
#undef WEFT_ERRC_MESSAGE
    }
    return "unknown weft error " + std::to_string(code);
  }

  std::error_condition default_error_condition(int code) const noexcept override {
    // Let weft's codes compare equal to their portable counterparts (`ec == std::errc::timed_out`).
    switch (static_cast<errc>(code)) {
      case errc::operation_canceled:
        return std::errc::operation_canceled;
      case errc::timed_out:
        return std::errc::timed_out;
      case errc::invalid_argument:
        return std::errc::invalid_argument;
      default:
        return {code, *this};
    }
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const weft_category category;
  return category;
}

std::string exception_message(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace weft
