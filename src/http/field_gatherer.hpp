// Header fields as llhttp hands them over: in pieces (a field may span reads), name first, then value.
// Shared by the request parser (server) and the response parser (client).
//
// In the header section the pieces go straight into the message's headers, with no side copy: this
// runs for every field of every message. Trailers (after a chunked body) arrive while a handler, or
// the user of a response stream, may already be using those headers, so they are gathered aside and
// added whole to the message's trailers: never merged into its headers, where a field a proxy checked
// could be added after the check, and where growing the storage would move what views point at.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "weft/http/headers.hpp"

namespace weft::http::detail {

class field_gatherer {
 public:
  void reset() noexcept {
    name_len_ = 0;
    name_.clear();
    value_.clear();
  }
  void name_piece(headers& h, bool in_head, const char* at, std::size_t len) {
    if (in_head) {
      h.append_piece(at, len);
      name_len_ += len;
    } else {
      name_.append(at, len);
    }
  }
  void value_piece(headers& h, bool in_head, const char* at, std::size_t len) {
    if (in_head) {
      h.append_piece(at, len);
    } else {
      value_.append(at, len);
    }
  }
  /// Adds the field whose value just ended: to `h`, the headers the pieces went to (in the header
  /// section), or the trailers (after it).
  void finish(headers& h, bool in_head) {
    if (in_head) {
      h.end_field(name_len_);
    } else {
      while (!value_.empty() && (value_.back() == ' ' || value_.back() == '\t')) value_.pop_back();
      h.add(name_, value_);
    }
    reset();
  }

 private:
  std::size_t name_len_ = 0;  // of the field in progress in the header section
  std::string name_;          // trailers only
  std::string value_;
};

}  // namespace weft::http::detail
