// HTTP header fields: an ordered, case-insensitive, multi-value list.
//
//     weft::http::headers h;
//     h.add("Set-Cookie", "a=1");
//     h.add("set-cookie", "b=2");
//     h.get("SET-COOKIE");        // "a=1" (the first)
//     h.get_all("Set-Cookie");    // {"a=1", "b=2"}
//
// All names and values live in one buffer, the first ~200 bytes and 8 fields of it inline: a typical
// request's or response's headers allocate nothing. string_views returned by get() stay valid until
// the headers are changed, moved or destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/detail/small_vec.hpp"

namespace weft::http {

/// ASCII case-insensitive equality, as header names compare. Inline: the length test settles most
/// comparisons before any byte is read.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// True if `s` is a token (RFC 9110 §5.6.2), as a method and a field name must be: not empty, and only
/// letters, digits and !#$%&'*+-.^_`|~.
bool is_token(std::string_view s) noexcept;

/// Why the field `name: value` cannot go into an HTTP/1.1 message, or null if it can: a name that is not
/// a token, or a value holding CR, LF or NUL. Such a value would end the field early and the rest would
/// be read as fields of its own (header injection, response splitting).
const char* field_problem(std::string_view name, std::string_view value) noexcept;

class headers {
 public:
  struct field {
    std::string_view name;
    std::string_view value;
  };

  headers() noexcept {}  // user-provided: `{}` must not zero the inline storage
  headers(const headers&) = default;
  headers& operator=(const headers&) = default;
  headers(headers&& o) noexcept
      : text_(std::move(o.text_)), fields_(std::move(o.fields_)), open_at_(std::exchange(o.open_at_, 0)) {}
  headers& operator=(headers&& o) noexcept {
    text_ = std::move(o.text_);
    fields_ = std::move(o.fields_);
    open_at_ = std::exchange(o.open_at_, 0);
    return *this;
  }
  /// Fields in order: `http::headers{{"Accept", "*/*"}, {"request-id", "7"}}`.
  headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    for (const auto& [name, value] : fields) add(name, value);
  }

  /// Appends a field (names keep the case given; lookups ignore it).
  void add(std::string_view name, std::string_view value);
  /// Replaces every field named `name` with one.
  void set(std::string_view name, std::string_view value);
  /// Removes every field named `name`; returns how many.
  std::size_t remove(std::string_view name);
  void clear() noexcept;

  /// The first value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  /// Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }
  /// The i-th field, in insertion order.
  field operator[](std::size_t i) const noexcept { return {name_of(fields_[i]), value_of(fields_[i])}; }
  /// Bytes of names and values stored (what a size limit counts).
  std::size_t bytes() const noexcept { return text_.size(); }


  class iterator {
   public:
    iterator(const headers* h, std::size_t i) noexcept : h_(h), i_(i) {}
    field operator*() const noexcept { return (*h_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

   private:
    const headers* h_;
    std::size_t i_;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, fields_.size()}; }

  /// For parsers, in a message's header section (before anyone else can touch the headers): a field
  /// whose name and value arrive in pieces goes straight into the storage, with no copy on the side.
  /// Append the name's pieces, then the value's, then `end_field(name_len)`.
  void append_piece(const char* at, std::size_t len) { text_.append(at, len); }
  /// The bytes appended since the last field ended (the name and value in progress).
  std::string_view open_field() const noexcept {
    return {text_.data() + open_at_, text_.size() - open_at_};
  }
  /// Ends the field in progress: its first `name_len` bytes are the name, the rest the value, less the
  /// whitespace that ends it (not part of a field value: RFC 9110 §5.5).
  void end_field(std::size_t name_len) {
    std::size_t end = text_.size();
    while (end > open_at_ + name_len && (text_[end - 1] == ' ' || text_[end - 1] == '\t')) --end;
    text_.resize_down(end);
    auto at = static_cast<std::uint32_t>(open_at_);
    auto n = static_cast<std::uint32_t>(name_len);
    fields_.push_back(slot{at, n, at + n, static_cast<std::uint32_t>(text_.size()) - at - n});
    open_at_ = text_.size();
  }

 private:
  struct slot {
    std::uint32_t name_at, name_len, value_at, value_len;
  };
  std::string_view name_of(const slot& s) const noexcept { return {text_.data() + s.name_at, s.name_len}; }
  std::string_view value_of(const slot& s) const noexcept { return {text_.data() + s.value_at, s.value_len}; }

  weft::detail::small_vec<char, 200> text_;
  weft::detail::small_vec<slot, 8> fields_;
  std::size_t open_at_ = 0;  // where the field in progress starts (see append_piece)
};

}  // namespace weft::http
